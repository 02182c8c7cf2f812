"""Fixtures for the AG-UI tests: otel-identity's instrumentors, the framework's telemetry, the HTTP client one.

The framework's telemetry switch is process-wide and ``disable_instrumentation()`` is sticky;
the fixture restores the settings exactly (as tests/agent_framework does).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_framework.observability import OBSERVABILITY_SETTINGS, disable_instrumentation, enable_instrumentation
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from otel_identity_ag_ui import AGUIInstrumentor
from otel_identity_agent_framework import AgentFrameworkInstrumentor


@pytest.fixture
def framework_telemetry() -> Iterator[None]:
    """agent-framework's own spans on for the test."""
    saved = (
        OBSERVABILITY_SETTINGS.is_user_disabled,
        OBSERVABILITY_SETTINGS.enable_instrumentation,
        OBSERVABILITY_SETTINGS.enable_sensitive_data,
    )
    enable_instrumentation(force=True)
    yield
    user_disabled, enabled, sensitive = saved
    enable_instrumentation(force=True)
    OBSERVABILITY_SETTINGS.enable_instrumentation = enabled
    OBSERVABILITY_SETTINGS.enable_sensitive_data = sensitive
    if user_disabled:
        disable_instrumentation()


@pytest.fixture
def http_client_instrumentation(tracer_provider: TracerProvider) -> Iterator[None]:
    """opentelemetry-instrumentation-httpx, so outgoing calls carry trace context (and trusted identity)."""
    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    yield
    instrumentor.uninstrument()


@pytest.fixture
def ag_ui(tracer_provider: TracerProvider) -> Iterator[AGUIInstrumentor]:
    """otel-identity's AG-UI instrumentor, on for this test, off afterwards."""
    instance = AGUIInstrumentor()
    instance.instrument(tracer_provider=tracer_provider)
    yield instance
    instance.uninstrument()


@pytest.fixture
def agent_framework(tracer_provider: TracerProvider) -> Iterator[AgentFrameworkInstrumentor]:
    instance = AgentFrameworkInstrumentor()
    instance.instrument()
    yield instance
    instance.uninstrument()


@pytest.fixture
def instrumented(
    ag_ui: AGUIInstrumentor,
    agent_framework: AgentFrameworkInstrumentor,
    framework_telemetry: None,
    http_client_instrumentation: None,
) -> AGUIInstrumentor:
    """Everything a user of otel-identity with AG-UI would have on."""
    return ag_ui
