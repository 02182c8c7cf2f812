"""Tracing set-up shared by the demo's services: one ``configure()`` call, and where spans go.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set, spans go
there over OTLP (the standard variables: endpoint, protocol, headers, timeout). Without, or
when an output file is given as well, they are appended to that file as OTLP/JSON.

Every exporter is wrapped in a :class:`CountingExporter` and every ended span counted
(:class:`Delivery`), so a service can say at exit how many spans reached each destination
and how many did not (failed, timed out, or dropped before an export): a backend that
accepts connections and never answers must not look like success.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
)
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import otel_identity
from otel_identity_demo.otlp_json import OtlpJsonFileExporter

__all__ = ["A2A_SDK_TRACING", "CountingExporter", "Delivery", "otlp_endpoint", "otlp_exporter", "setup_tracing"]

A2A_SDK_TRACING: Final = "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED"


def otlp_endpoint() -> str | None:
    """The OTLP endpoint the environment names, if any."""
    for name in (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


class CountingExporter(SpanExporter):
    """``inner``, with the spans it exported and those it failed (or raised) on counted."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.exported = 0
        self.failed = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = SpanExportResult.FAILURE
        try:
            result = self.inner.export(spans)
        finally:  # an exporter that raises lost its batch as surely as one that fails
            with self._lock:
                if result == SpanExportResult.SUCCESS:
                    self.exported += len(spans)
                else:
                    self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class _Ended(SpanProcessor):
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self.count += 1


@dataclass
class Delivery:
    """Spans this service ended, and what each destination (``"otlp"``, ``"file"``) did with them."""

    ended: _Ended = field(default_factory=_Ended)
    destinations: dict[str, CountingExporter] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """``{"ended": n, "otlp": {"exported": a, "failed": b}, ...}``; read once the provider is shut down."""
        counts: dict[str, object] = {"ended": self.ended.count}
        for name, exporter in self.destinations.items():
            counts[name] = {"exported": exporter.exported, "failed": exporter.failed}
        return counts


def otlp_exporter() -> SpanExporter:
    """The OTLP span exporter the environment asks for (``OTEL_EXPORTER_OTLP_*``; http/protobuf or grpc)."""
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
    ).strip()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter()


def setup_tracing(
    service_name: str, *, output: str | None, trusted_peers: Sequence[str]
) -> tuple[TracerProvider, Delivery]:
    """Configure this process as ``service_name``; every installed instrumentor on.

    a2a-sdk's own spans (named after its Python methods) are off unless
    ``OTEL_INSTRUMENTATION_A2A_SDK_ENABLED`` says otherwise: they are some fifty internal
    spans per request (event queues, dispatchers) that would bury the story the demo tells;
    the A2A instrumentation's ``SendMessage`` server spans describe each request. Turned on,
    they join the caller's trace and session like every other span.
    """
    os.environ.setdefault(A2A_SDK_TRACING, "false")  # read when a2a-sdk is first imported
    from agent_framework.observability import enable_instrumentation

    delivery = Delivery()
    if otlp_endpoint() is not None or not output:  # no destination named: OTLP's default endpoint, as configure()
        delivery.destinations["otlp"] = CountingExporter(otlp_exporter())
    if output:
        delivery.destinations["file"] = CountingExporter(OtlpJsonFileExporter(output))
    first, *more = delivery.destinations.values()
    provider = otel_identity.configure(
        service_name=service_name, trusted_peers=list(trusted_peers), exporter=first, instrument=True
    )
    provider.add_span_processor(delivery.ended)
    for exporter in more:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    enable_instrumentation()  # agent-framework's own invoke_agent / chat / execute_tool spans
    from otel_identity_demo._logging import setup_logs

    setup_logs(output=output, otlp="otlp" in delivery.destinations)  # log records to the same places
    return provider, delivery
