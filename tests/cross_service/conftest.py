"""Fixtures for the cross-service tests: real peers (see :mod:`cross_peers`), instrumented HTTP clients, span waits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cross_peers import SIGNAL, AsgiPeer, RawPeer, SpanWait
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_SIGNALLED: set[int] = set()


@pytest.fixture
def span_wait(spans: InMemorySpanExporter, tracer_provider: TracerProvider) -> SpanWait:
    if id(tracer_provider) not in _SIGNALLED:
        tracer_provider.add_span_processor(SIGNAL)
        _SIGNALLED.add(id(tracer_provider))
    return SpanWait(spans)


@pytest.fixture(scope="module")
def peer(tracer_provider: TracerProvider) -> Iterator[AsgiPeer]:
    """The trusted-to-be peer: an instrumented ASGI service on 127.0.0.1."""
    with AsgiPeer(tracer_provider) as running:
        yield running


@pytest.fixture(scope="module")
def model_api() -> Iterator[RawPeer]:
    """A stand-in for a model API on another loopback address (127.0.0.2): never trusted."""
    with RawPeer("127.0.0.2") as running:
        yield running


@pytest.fixture
def http_clients(tracer_provider: TracerProvider) -> Iterator[None]:
    """httpx and requests instrumented (opentelemetry-instrumentation-httpx/-requests) for one test."""
    HTTPXClientInstrumentor().instrument(tracer_provider=tracer_provider)
    RequestsInstrumentor().instrument(tracer_provider=tracer_provider)
    yield
    RequestsInstrumentor().uninstrument()
    HTTPXClientInstrumentor().uninstrument()
