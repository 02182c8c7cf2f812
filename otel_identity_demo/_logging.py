"""Logs of the demo's services: Python ``logging`` through OpenTelemetry, with the session on every record.

:func:`setup_logs` asks ``otel_identity.configure()`` for the logs pipeline, to the same
destinations as the spans: the OTLP/JSON file (:mod:`otel_identity_demo.otlp_json_logs`)
and/or OTLP (``OTEL_EXPORTER_OTLP_*``), so the stack's Loki and the sessions report see them.
The services log a few meaningful lines (a failed task, a request asked again, a missing
direct flight) on loggers under ``otel_identity_demo``, at INFO and above.
"""

from __future__ import annotations

import logging
import os
from typing import Final

from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter

import otel_identity
from otel_identity_demo.otlp_json_logs import OtlpJsonLogFileExporter

__all__ = ["DEMO_LOGGER", "demo_logger", "setup_logs"]

DEMO_LOGGER: Final = "otel_identity_demo"


def demo_logger(service: str) -> logging.Logger:
    """The logger of one demo service (``otel_identity_demo.<service>``)."""
    return logging.getLogger(f"{DEMO_LOGGER}.{service}")


def _otlp_log_exporter() -> LogRecordExporter:
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
    ).strip()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpExporter

    return HttpExporter()


def setup_logs(*, output: str | None, otlp: bool) -> LoggerProvider | None:
    """Send this process's log records to ``output`` (OTLP/JSON) and/or OTLP; call after the tracing set-up."""
    exporters: list[LogRecordExporter] = []
    if output:
        exporters.append(OtlpJsonLogFileExporter(output))
    if otlp:
        exporters.append(_otlp_log_exporter())
    if not exporters:
        return None
    first, *more = exporters
    otel_identity.configure(logs=True, log_exporter=first, propagator=False)
    provider = get_logger_provider()
    if not isinstance(provider, LoggerProvider):  # pragma: no cover - configure() installed one
        return None
    for exporter in more:
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logging.getLogger(DEMO_LOGGER).setLevel(logging.INFO)
    return provider
