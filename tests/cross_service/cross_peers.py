"""Real peers for the cross-service tests, each on 127.0.0.x with an ephemeral port.

* :class:`AsgiPeer`: a Starlette app behind opentelemetry-instrumentation-asgi's
  ``OpenTelemetryMiddleware``, served by uvicorn in a background thread, like a separate
  service. It records the raw headers of every request and answers with what its handler
  saw in scope; a ``handler.work`` span ends inside the handler, before the response.
* :class:`RawPeer`: a stdlib ``http.server`` recording raw headers, with no OpenTelemetry at
  all: the stand-in for a model API or any third party.

Start-up waits on events; span waits use a condition signalled when a span ends.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from opentelemetry import baggage, propagate, trace
from opentelemetry import context as context_api
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

import otel_identity as oi
from otel_identity_testing.servers import ServerThread

PEER_SCOPE: Final = "cross-service-peer"
"""Instrumentation scope of the peer handler's own spans."""

Headers = dict[str, list[str]]


class _EndSignal(SpanProcessor):
    """Wakes waiters whenever a span ends (added after the exporter, so the span is exported first)."""

    def __init__(self) -> None:
        self.changed = threading.Condition()

    def on_end(self, span: ReadableSpan) -> None:
        with self.changed:
            self.changed.notify_all()


SIGNAL = _EndSignal()
"""Add to the provider once (after the exporter); :class:`SpanWait` waits on it."""


class SpanWait:
    """The test's finished spans, with waiting for spans that end on a server thread."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def until(self, predicate: Callable[[ReadableSpan], bool], timeout: float = 15.0) -> ReadableSpan:
        """The first finished span matching ``predicate``, waiting up to ``timeout`` seconds for it."""

        def found() -> ReadableSpan | None:
            return next((span for span in self.all() if predicate(span)), None)

        with SIGNAL.changed:
            if not SIGNAL.changed.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no span matched; have {[span.name for span in self.all()]}")
        span = found()
        assert span is not None
        return span


class AsgiPeer(ServerThread):
    """An instrumented Starlette service on ``host`` in a background thread; use as a context manager.

    Routes: ``/echo`` (records headers; answers with the identity and baggage its handler saw),
    ``/redirect?to=URL`` (302), ``/inject`` (its handler injects into a plain dict, as
    agent-framework does for MCP ``_meta``, and answers with that dict).
    """

    def __init__(self, tracer_provider: TracerProvider, host: str = "127.0.0.1") -> None:
        super().__init__(host=host, name="asgi-peer")
        self.received: list[Headers] = []
        self._lock = threading.Lock()
        self._tracer = tracer_provider.get_tracer(PEER_SCOPE)
        self._provider = tracer_provider

    def headers(self, value: str, name: str = "baggage") -> list[str]:
        """Values of header ``name`` of the one recorded request whose ``x-test`` header is ``value``."""
        matching = [headers for headers in self.received if headers.get("x-test") == [value]]
        assert len(matching) == 1, f"expected one request tagged {value!r}, got {len(matching)}"
        return matching[0].get(name, [])

    async def _echo(self, request: Request) -> Response:
        with self._lock:
            self.received.append(_header_lists(request.headers.items()))
        identities = oi.get_identities()
        with self._tracer.start_as_current_span("handler.work") as span:
            span.set_attribute("test.tag", request.headers.get("x-test", ""))
        return JSONResponse(
            {
                "session": identities.session_id if identities else None,
                "user": identities.user_id if identities else None,
                "baggage": {key: str(value) for key, value in baggage.get_all().items()},
            }
        )

    async def _redirect(self, request: Request) -> Response:
        with self._lock:
            self.received.append(_header_lists(request.headers.items()))
        return RedirectResponse(request.query_params["to"], status_code=302)

    async def _inject(self, request: Request) -> Response:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        identities = oi.get_identities()
        return JSONResponse({"carrier": carrier, "session": identities.session_id if identities else None})

    def app(self) -> Any:
        app = Starlette(
            routes=[
                Route("/echo", self._echo, methods=["GET", "POST"]),
                Route("/redirect", self._redirect),
                Route("/inject", self._inject),
            ]
        )
        return OpenTelemetryMiddleware(app, tracer_provider=self._provider)

    def __enter__(self) -> AsgiPeer:
        super().__enter__()
        return self


def _header_lists(items: Sequence[tuple[str, str]] | Any) -> Headers:
    found: Headers = {}
    for name, value in items:
        found.setdefault(name.lower(), []).append(value)
    return found


class RawPeer:
    """A plain ``http.server`` on ``host`` recording raw request headers: no OpenTelemetry in it."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        received: list[Headers] = []
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                with lock:
                    received.append(_header_lists(self.headers.items()))
                body = json.dumps({"ok": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._record()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self._record()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.received = received
        self._server = ThreadingHTTPServer((host, 0), Handler)
        self.port: int = self._server.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"raw-peer-{self.port}", daemon=True)

    def headers(self, value: str, name: str = "baggage") -> list[str]:
        matching = [headers for headers in self.received if headers.get("x-test") == [value]]
        assert len(matching) == 1, f"expected one request tagged {value!r}, got {len(matching)}"
        return matching[0].get(name, [])

    def __enter__(self) -> RawPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=15)


@contextmanager
def attached(context: context_api.Context) -> Iterator[None]:
    """Attach ``context`` for the block (for functional-form contexts such as ``set_destination``)."""
    token = context_api.attach(context)
    try:
        yield
    finally:
        context_api.detach(token)


def baggage_members(values: list[str]) -> dict[str, str]:
    """The ``key=value`` members of raw ``baggage`` header values, undecoded."""
    members: dict[str, str] = {}
    for value in values:
        for member in value.split(","):
            key, _, rest = member.strip().partition("=")
            members[key] = rest
    return members


def trace_id_of(span: trace.Span | ReadableSpan) -> int:
    context = span.get_span_context() if isinstance(span, trace.Span) else span.context
    assert context is not None
    return context.trace_id
