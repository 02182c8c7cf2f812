"""A plain HTTP request of a sampled-out session still carries the session to a trusted peer.

The README's known limit: a dropped client span keeps no attributes, so the propagator cannot
tell where the request goes and sends no identity. With the session sampler a dropped
session's CLIENT spans are recording but not sampled. Real parts: httpx with
opentelemetry-instrumentation-httpx on a provider of the test's own, a stdlib HTTP server on
127.0.0.1 recording the headers it received.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

import otel_identity


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.headers_seen.append(dict(self.headers))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def peer() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.headers_seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _request_in_dropped_session(sampler: Sampler, peer: ThreadingHTTPServer) -> tuple[dict[str, str], int]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    otel_identity.add_identity_processor(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    try:
        with otel_identity.session_scope("dropped-session"), provider.get_tracer("app").start_as_current_span("turn"):
            httpx.get(f"http://127.0.0.1:{peer.server_address[1]}/lookup")
    finally:
        HTTPXClientInstrumentor().uninstrument()
    (headers,) = peer.headers_seen  # type: ignore[attr-defined]
    return {key.lower(): value for key, value in headers.items()}, len(exporter.get_finished_spans())


@pytest.mark.usefixtures("tracer_provider")  # installs tracecontext + otel_identity as the global propagator
def test_the_session_sampler_keeps_the_destination_of_a_dropped_sessions_request(
    peer: ThreadingHTTPServer, trust: object
) -> None:
    trust([f"127.0.0.1:{peer.server_address[1]}"])  # type: ignore[operator]
    headers, exported = _request_in_dropped_session(otel_identity.session_sampler(0.0), peer)
    assert "session.id=dropped-session" in headers.get("baggage", "")
    assert int(headers["traceparent"].rsplit("-", 1)[1], 16) & 0x01 == 0  # not sampled: the peer drops its side too
    assert exported == 0


@pytest.mark.usefixtures("tracer_provider")
def test_with_a_per_trace_sampler_the_dropped_request_has_no_destination(
    peer: ThreadingHTTPServer, trust: object
) -> None:
    """The known limit itself, so the test above shows a difference our sampler makes."""
    trust([f"127.0.0.1:{peer.server_address[1]}"])  # type: ignore[operator]
    headers, exported = _request_in_dropped_session(ParentBased(TraceIdRatioBased(0.0)), peer)
    assert "session.id" not in headers.get("baggage", "")
    assert exported == 0
