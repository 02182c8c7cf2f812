"""Real broken collectors, a real A2A server, and span bookkeeping for the reliability tests.

* :class:`Collector`: an OTLP/HTTP endpoint on 127.0.0.1 that is down (a bound port nobody
  listens on: connections are refused), slow (holds each request until released, longer
  than the exporter's timeout) or failing (answers 500). It counts requests and signals the
  first one with an event, so tests wait on events, never on time.
* :func:`broken_pipeline`: a tracer provider of the test's own with the identity processor, a
  span checker, and a real ``BatchSpanProcessor(OTLPSpanExporter(...))`` to the collector.
* :class:`OpenSpans`: which spans started and have not ended (added once to the global provider).
* :func:`make_agent`: an agent-framework ``Agent`` on the deterministic scripted chat client.
"""

from __future__ import annotations

import http.server
import logging
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from agent_framework import Agent, tool
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._shared_internal import DuplicateFilter
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from otel_identity import IdentitySpanProcessor
from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

Fault = Literal["down", "slow", "error-500"]
FAULTS: Final[tuple[Fault, ...]] = ("down", "slow", "error-500")

EXPORT_TIMEOUT: Final = 0.25
"""Seconds the exporter waits for the collector (the slow collector holds requests longer).

Below the exporter's first retry back-off (1 s +-20 %), so a failed export is never retried
and logs exactly one line.
"""
QUEUE_SIZE: Final = 64
BATCH_SIZE: Final = 16
EXPORTER_LOGGER: Final = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
QUEUE_FULL: Final = "Queue full"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _CollectorServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        collector = self.server.collector
        with collector.lock:
            collector.requests += 1
        collector.received.set()
        if collector.fault == "slow":
            collector.release.wait(timeout=30)
        status = 500 if collector.fault == "error-500" else 200
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the exporter gave up (timeout) and closed the connection

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _CollectorServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, collector: Collector) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.collector = collector


class Collector:
    """A broken OTLP/HTTP collector on 127.0.0.1; use as a context manager."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.requests = 0
        self.lock = threading.Lock()
        self.received = threading.Event()
        """Set when the first export request arrives."""
        self.release = threading.Event()
        """Set to let the slow collector answer (held requests, and every later one, at once)."""
        self._server: _CollectorServer | None = None
        self._bound: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""

    def __enter__(self) -> Collector:
        if self.fault == "down":
            # Bound but not listening: the port stays ours, and every connection is refused.
            self._bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._bound.bind(("127.0.0.1", 0))
            port = self._bound.getsockname()[1]
        else:
            self._server = _CollectorServer(self)
            port = self._server.server_address[1]
            self._thread = threading.Thread(target=self._server.serve_forever, name="collector", daemon=True)
            self._thread.start()
        self.endpoint = f"http://127.0.0.1:{port}/v1/traces"
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._bound is not None:
            self._bound.close()


class CountingExporter(SpanExporter):
    """The real OTLP exporter, with the number of export calls counted (one log line may come per call)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.calls = 0
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        self.spans += len(spans)
        return self.inner.export(spans)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class SessionCheck(SpanProcessor):
    """Counts ended spans and those whose ``session.id`` does not start with ``prefix`` (no span kept)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.ended = 0
        self.wrong: list[str] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended += 1
        session = (span.attributes or {}).get(attr.SESSION_ID)
        if not (isinstance(session, str) and session.startswith(self.prefix)) and len(self.wrong) < 10:
            self.wrong.append(f"{span.name}: {session!r}")


@dataclass
class Pipeline:
    provider: TracerProvider
    check: SessionCheck
    exporter: CountingExporter
    batch: BatchSpanProcessor


def broken_pipeline(collector: Collector, *, session_prefix: str) -> Pipeline:
    """A provider of the test's own exporting through a real batch processor to ``collector``."""
    provider = TracerProvider()
    provider.add_span_processor(IdentitySpanProcessor())
    check = SessionCheck(session_prefix)
    provider.add_span_processor(check)
    exporter = CountingExporter(OTLPSpanExporter(endpoint=collector.endpoint, timeout=EXPORT_TIMEOUT))
    batch = BatchSpanProcessor(
        exporter, max_queue_size=QUEUE_SIZE, max_export_batch_size=BATCH_SIZE, schedule_delay_millis=100
    )
    provider.add_span_processor(batch)
    return Pipeline(provider, check, exporter, batch)


def reset_queue_full_warning() -> None:
    """Forget the SDK's last "Queue full" warning, so this test sees its own first one.

    The batch processor's logger drops a repeat of the same message within a 20-second
    window (``DuplicateFilter``), process-wide: without this a previous test's warning would
    hide this test's.
    """
    for candidate in logging.getLogger("opentelemetry.sdk._shared_internal").filters:
        if isinstance(candidate, DuplicateFilter):
            candidate.__dict__.pop("last_log", None)


class OpenSpans(SpanProcessor):
    """Spans started and not yet ended, by span id (added once to the global provider)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, str] = {}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        with self._lock:
            self._open[span.get_span_context().span_id] = span.name

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        if context is not None:
            with self._lock:
                self._open.pop(context.span_id, None)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._open.values())

    def clear(self) -> None:
        with self._lock:
            self._open.clear()


# region agent-framework


@tool
def get_weather(city: str) -> str:
    """Weather for a city (opens a span of its own, like an HTTP call would)."""
    with trace.get_tracer("weather-service").start_as_current_span("weather lookup"):
        return f"sunny in {city}"


OVERLOADED: Final = RuntimeError("model overloaded")
"""The one exception the scripted model raises for "overloaded": tests check it arrives unchanged."""


def make_agent(*, rules: Sequence[Rule] = (), mode: Literal["responses", "conversation", "local"] = "responses") -> Any:
    """An ``Agent`` on the scripted client: "weather" calls the tool, "overloaded" raises :data:`OVERLOADED`."""
    client = ScriptedChatClient(
        mode=mode,
        rules=[
            *rules,
            Rule("weather", tool="get_weather", arguments={"city": "Paris"}, answer="Forecast: {result}"),
            Rule("overloaded", raises=OVERLOADED),
            Rule("story", answer="once upon a time there was a long story with many words"),
        ],
    )
    return Agent(client, name="concierge", tools=[get_weather])


def expected_answer(text: str) -> str:
    """What :func:`make_agent`'s model answers to ``text``."""
    if "weather" in text:
        return "Forecast: sunny in Paris"
    if "story" in text:
        return "once upon a time there was a long story with many words"
    return f"You said: {text}"


# endregion


@dataclass(frozen=True)
class Seen:
    """What a :class:`Recorder` keeps of one span."""

    name: str
    kind: str
    trace_id: int
    attributes: dict[str, Any]


class Recorder(SpanProcessor):
    """Keeps a small record of ended spans whose name is in ``names`` (added once to the global provider).

    For tests that make tens of thousands of spans: only the spans they check are kept.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.names: frozenset[str] = frozenset()
        self.seen: list[Seen] = []

    def on_end(self, span: ReadableSpan) -> None:
        if span.name not in self.names:
            return
        context = span.get_span_context()
        record = Seen(span.name, span.kind.name, context.trace_id if context else 0, dict(span.attributes or {}))
        with self._lock:
            self.seen.append(record)

    def start(self, *names: str) -> None:
        with self._lock:
            self.names = frozenset(names)
            self.seen = []

    def stop(self) -> list[Seen]:
        with self._lock:
            self.names = frozenset()
            seen, self.seen = self.seen, []
        return seen
