"""Fixtures for the reliability tests: instrumentors, the framework's telemetry switch, open-span tracking."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_framework.observability import OBSERVABILITY_SETTINGS, disable_instrumentation, enable_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from otel_identity_a2a import A2AInstrumentor
from otel_identity_agent_framework import AgentFrameworkInstrumentor
from reliability_support import OpenSpans, Recorder

_OPEN_SPANS = OpenSpans()
_RECORDER = Recorder()
_TRACKED: set[int] = set()


def _track(provider: TracerProvider) -> None:
    if id(provider) not in _TRACKED:
        provider.add_span_processor(_OPEN_SPANS)
        provider.add_span_processor(_RECORDER)
        _TRACKED.add(id(provider))


@pytest.fixture
def open_spans(tracer_provider: TracerProvider) -> Iterator[OpenSpans]:
    """Spans of the global provider started during this test and not ended (added to the provider once)."""
    _track(tracer_provider)
    _OPEN_SPANS.clear()
    yield _OPEN_SPANS
    _OPEN_SPANS.clear()


@pytest.fixture
def recorder(tracer_provider: TracerProvider) -> Iterator[Recorder]:
    """Keeps a small record of chosen spans of the global provider (``recorder.start(*names)``)."""
    _track(tracer_provider)
    yield _RECORDER
    _RECORDER.stop()


@pytest.fixture
def framework_telemetry(request: pytest.FixtureRequest) -> Iterator[bool]:
    """agent-framework's own telemetry on (``True``, default) or off for this test; restored exactly after.

    ``disable_instrumentation()`` is sticky (only ``enable_instrumentation(force=True)`` undoes
    it), so the previous settings are saved and put back field by field.
    """
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


@pytest.fixture
def af_instrumented(tracer_provider: TracerProvider, framework_telemetry: bool) -> Iterator[AgentFrameworkInstrumentor]:
    """``AgentFrameworkInstrumentor`` on the global provider for this test."""
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument()
    yield instrumentor
    instrumentor.uninstrument()


@pytest.fixture
def a2a_instrumented(tracer_provider: TracerProvider) -> Iterator[A2AInstrumentor]:
    """``A2AInstrumentor`` on the global provider for this test."""
    instrumentor = A2AInstrumentor()
    instrumentor.instrument()
    yield instrumentor
    instrumentor.uninstrument()
