"""Span helpers for the A2A tests: waiting for spans to end, and selecting this package's spans.

Server and client run in one process and share the global tracer provider, so tests tell
the sides apart by span kind and instrumentation scope (``otel_identity_a2a``), and find
their own spans by trace, conversation or task id.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_identity import attributes as attr

SCOPE = "otel_identity_a2a"
"""Instrumentation scope of the spans this package creates."""


class EndSignal(SpanProcessor):
    """Wakes waiters whenever a span ends (added after the exporter, so the span is exported first)."""

    def __init__(self) -> None:
        self.changed = threading.Condition()

    def on_end(self, span: ReadableSpan) -> None:
        with self.changed:
            self.changed.notify_all()


SIGNAL = EndSignal()


class Spans:
    """The test's finished spans, with waiting and the selections the A2A tests need."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def ours(self, kind: SpanKind | None = None, name: str | None = None) -> list[ReadableSpan]:
        return [
            span
            for span in self.all()
            if span.instrumentation_scope is not None
            and span.instrumentation_scope.name == SCOPE
            and (kind is None or span.kind == kind)
            and (name is None or span.name == name)
        ]

    async def until(self, predicate: Callable[[Spans], bool], timeout: float = 15.0) -> None:
        """Wait (without blocking the event loop) until ``predicate(self)`` holds; fail after ``timeout``."""

        def wait() -> bool:
            with SIGNAL.changed:
                return SIGNAL.changed.wait_for(lambda: predicate(self), timeout)

        if not await asyncio.to_thread(wait):
            names = [(span.name, span.kind.name, dict(span.attributes or {})) for span in self.ours()]
            raise AssertionError(f"spans never matched; ours: {names}")

    async def until_count(
        self, count: int, kind: SpanKind | None = None, name: str | None = None, timeout: float = 15.0
    ) -> list[ReadableSpan]:
        await self.until(lambda s: len(s.ours(kind, name)) >= count, timeout)
        return self.ours(kind, name)


def attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


def state_events(span: ReadableSpan) -> list[str]:
    """The task states recorded as ``otel_identity.a2a.task.state_change`` events on ``span``, in order."""
    return [
        str((event.attributes or {})[attr.A2A_TASK_STATE])
        for event in span.events
        if event.name == attr.TASK_STATE_CHANGE_EVENT
    ]


def one(spans: Sequence[ReadableSpan]) -> ReadableSpan:
    assert len(spans) == 1, [(span.name, span.kind, dict(span.attributes or {})) for span in spans]
    return spans[0]
