"""agent-framework fixtures for the test folders that run real agents: the instrumentor, the telemetry switch.

The framework's switch is process-wide (``OBSERVABILITY_SETTINGS``) and
``disable_instrumentation()`` is sticky: it sets a user-disabled flag that only
``enable_instrumentation(force=True)`` clears. ``framework_telemetry`` saves the settings and
restores them field by field, so a test that turns the framework's telemetry off cannot leak
that into others. A folder's ``conftest.py`` imports the fixtures it uses from here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_framework.observability import OBSERVABILITY_SETTINGS, disable_instrumentation, enable_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from otel_identity_agent_framework import AgentFrameworkInstrumentor

__all__ = ["framework_telemetry", "instrumentor"]


@pytest.fixture
def instrumentor(tracer_provider: TracerProvider) -> Iterator[AgentFrameworkInstrumentor]:
    """The instrumentor, on for this test (global provider), off afterwards."""
    instance = AgentFrameworkInstrumentor()
    instance.instrument()
    yield instance
    instance.uninstrument()


@pytest.fixture
def framework_telemetry(request: pytest.FixtureRequest) -> Iterator[bool]:
    """agent-framework's own instrumentation on (``True``, the default) or off; parametrize indirectly."""
    on = bool(getattr(request, "param", True))
    saved = (
        OBSERVABILITY_SETTINGS.is_user_disabled,
        OBSERVABILITY_SETTINGS.enable_instrumentation,
        OBSERVABILITY_SETTINGS.enable_sensitive_data,
    )
    if on:
        enable_instrumentation(force=True)
    else:
        disable_instrumentation()
    assert OBSERVABILITY_SETTINGS.ENABLED is on
    yield on
    user_disabled, enabled, sensitive = saved
    enable_instrumentation(force=True)
    OBSERVABILITY_SETTINGS.enable_instrumentation = enabled
    OBSERVABILITY_SETTINGS.enable_sensitive_data = sensitive
    if user_disabled:
        disable_instrumentation()
