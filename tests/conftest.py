"""Shared fixtures: one real SDK tracer provider for the whole run, spans captured in memory.

The provider is global because the frameworks under test (agent-framework, a2a-sdk) take
their tracers from the global provider, as they do in users' apps. Each test sees only
its own spans: the exporter is cleared around every test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import propagate, trace
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from otel_identity import IdentityBaggagePropagator, add_identity_processor
from otel_identity._settings import reset_settings, update_settings
from otel_identity._trust import TrustedPeers

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="session")
def tracer_provider() -> TracerProvider:
    """The process-wide SDK provider with the identity processor, as ``configure()`` would set it up."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(resource=Resource.create({"service.name": "otel-identity-tests"}))
        trace.set_tracer_provider(provider)
    add_identity_processor(provider)
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    propagate.set_global_textmap(CompositePropagator([TraceContextTextMapPropagator(), IdentityBaggagePropagator()]))
    return provider


@pytest.fixture
def spans(tracer_provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    """In-memory exporter holding the spans ended during this test only."""
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


@pytest.fixture
def tracer(tracer_provider: TracerProvider) -> trace.Tracer:
    return tracer_provider.get_tracer("otel-identity-tests")


@pytest.fixture
def trust() -> Iterator[object]:
    """Call ``trust(["127.0.0.1:1234"])`` to trust peers for this test; settings reset afterwards."""

    def _trust(entries: list[str], **kwargs: object) -> None:
        update_settings(trusted_peers=TrustedPeers(entries), **kwargs)  # type: ignore[arg-type]

    reset_settings()
    yield _trust
    reset_settings()
