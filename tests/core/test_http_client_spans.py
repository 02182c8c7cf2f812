"""Spans of other instrumentations (a real instrumented httpx call) carry the session in scope."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_identity as oi
from otel_identity import attributes as attr


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def instrumented_httpx(tracer_provider: TracerProvider) -> Iterator[None]:
    HTTPXClientInstrumentor().instrument(tracer_provider=tracer_provider)
    yield
    HTTPXClientInstrumentor().uninstrument()


def test_an_httpx_client_span_carries_the_session(
    spans: InMemorySpanExporter, local_server: str, instrumented_httpx: None
) -> None:
    with oi.session_scope("s-http"), oi.run_scope("r-http"):
        response = httpx.get(local_server)
    assert response.text == "ok"
    (span,) = [span for span in spans.get_finished_spans() if span.name == "GET"]
    assert span.attributes[attr.SESSION_ID] == "s-http"
    assert span.attributes[attr.RUN_ID] == "r-http"
    assert span.attributes[attr.GEN_AI_CONVERSATION_ID] == "s-http"


async def test_an_async_httpx_client_span_carries_the_session(
    spans: InMemorySpanExporter, local_server: str, instrumented_httpx: None
) -> None:
    async with httpx.AsyncClient() as client:
        async with oi.session_scope("s-async-http"):
            response = await client.get(local_server)
    assert response.status_code == 200
    (span,) = [span for span in spans.get_finished_spans() if span.name == "GET"]
    assert span.attributes[attr.SESSION_ID] == "s-async-http"
