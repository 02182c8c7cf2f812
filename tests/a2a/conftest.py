"""Fixtures for the A2A tests: the instrumentor and span waiting (helpers in ``a2a_spans``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from a2a_spans import SIGNAL, Spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_identity_a2a import A2AInstrumentor

_SIGNALLED: set[int] = set()


@pytest.fixture
def a2a_spans(spans: InMemorySpanExporter, tracer_provider: TracerProvider) -> Spans:
    """This test's spans, with waiting; the end signal is added once, after the exporter."""
    if id(tracer_provider) not in _SIGNALLED:
        tracer_provider.add_span_processor(SIGNAL)
        _SIGNALLED.add(id(tracer_provider))
    return Spans(spans)


@pytest.fixture
def instrumented(tracer_provider: TracerProvider) -> Iterator[A2AInstrumentor]:
    """The A2A instrumentor, instrumented on the global provider for this test only."""
    instrumentor = A2AInstrumentor()
    instrumentor.instrument()
    yield instrumentor
    instrumentor.uninstrument()
