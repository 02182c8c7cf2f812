"""Fixtures for the reliability tests: instrumentors, the framework's telemetry switch, open-span tracking."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from af_fixtures import framework_telemetry
from opentelemetry.sdk.trace import TracerProvider
from otel_identity_a2a import A2AInstrumentor
from otel_identity_agent_framework import AgentFrameworkInstrumentor
from reliability_support import OpenSpans, Recorder

__all__ = ["framework_telemetry"]

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
