"""Exporters ``configure()`` builds for traces and logs, and the one rule for bad configuration.

The rule (the OpenTelemetry SDK's convention): a bad *environment* value logs a warning
naming the variable and falls back to the default, because the environment is often shared
and set by someone else, and ``opentelemetry-instrument`` must still start the app. A bad
*keyword argument* raises ``ValueError`` at set-up, because the caller wrote it and can fix
it. (One exception lives in :mod:`otel_identity._trust`: a bad trusted peer raises even from
the environment, since guessing could send identity somewhere it must not go.)
"""

from __future__ import annotations

import logging
import os
from typing import Literal

from opentelemetry.environment_variables import OTEL_LOGS_EXPORTER, OTEL_TRACES_EXPORTER
from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter, LogRecordExporter
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
)
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from otel_identity._log_once import RepeatedLogFilter

__all__ = ["EXPORTER_NAMES", "PROTOCOLS", "Signal", "log_exporters", "span_exporters"]

logger = logging.getLogger("otel_identity")

Signal = Literal["traces", "logs"]

PROTOCOLS = ("http/protobuf", "grpc")
EXPORTER_NAMES = ("otlp", "console", "none")

_EXPORTER_VARIABLE = {"traces": OTEL_TRACES_EXPORTER, "logs": OTEL_LOGS_EXPORTER}
_PROTOCOL_VARIABLES = {
    "traces": (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL),
    "logs": (OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL),
}
_LOG_EXPORT_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
)
_LOG_EXPORT_FILTER = RepeatedLogFilter()


def _protocol(signal: Signal, protocol: str | None) -> str:
    """``protocol`` (a checked keyword) or the environment's, falling back to http/protobuf with a warning."""
    if protocol is not None:
        return protocol
    for variable in _PROTOCOL_VARIABLES[signal]:
        value = os.environ.get(variable, "").strip()
        if not value:
            continue
        if value in PROTOCOLS:
            return value
        if value == "http/json":
            logger.warning(
                "otel-identity: %s=http/json is not supported by the Python exporter; using http/protobuf", variable
            )
        else:
            logger.warning(
                "otel-identity: %s=%r is not one of %s; using http/protobuf", variable, value, ", ".join(PROTOCOLS)
            )
        return "http/protobuf"
    return "http/protobuf"


def _http_endpoint(endpoint: str, path: str) -> str:
    base = endpoint.rstrip("/")
    return base if base.endswith(path) else base + path


def _otlp_span_exporter(protocol: str, endpoint: str | None) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint) if endpoint else GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter(endpoint=_http_endpoint(endpoint, "/v1/traces")) if endpoint else HttpExporter()


def _otlp_log_exporter(protocol: str, endpoint: str | None) -> LogRecordExporter:
    for name in _LOG_EXPORT_LOGGERS:
        logging.getLogger(name).addFilter(_LOG_EXPORT_FILTER)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint) if endpoint else GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpExporter

    return HttpExporter(endpoint=_http_endpoint(endpoint, "/v1/logs")) if endpoint else HttpExporter()


def _names(signal: Signal) -> list[str]:
    """Exporter names from ``OTEL_<SIGNAL>_EXPORTER``; unknown ones are logged and ignored, default ``otlp``."""
    variable = _EXPORTER_VARIABLE[signal]
    raw = os.environ.get(variable, "")
    names: list[str] = []
    for name in (part.strip() for part in raw.split(",")):
        if not name:
            continue
        if name in EXPORTER_NAMES:
            names.append(name)
        else:
            logger.warning(
                "otel-identity: %s=%r is not one of %s; ignoring it", variable, name, ", ".join(EXPORTER_NAMES)
            )
    if not names:
        if raw.strip():
            logger.warning("otel-identity: %s names no supported exporter; using otlp", variable)
        return ["otlp"]
    return names


def exporter_requested(signal: Signal) -> bool:
    """Whether ``OTEL_<SIGNAL>_EXPORTER`` is set to something other than ``none``."""
    raw = os.environ.get(_EXPORTER_VARIABLE[signal], "").strip()
    return bool(raw) and raw != "none"


def span_exporters(protocol: str | None, endpoint: str | None) -> list[SpanExporter]:
    """Span exporters for a provider ``configure()`` creates: ``endpoint`` means OTLP there, else the environment."""
    chosen = _protocol("traces", protocol)
    if endpoint:
        return [_otlp_span_exporter(chosen, endpoint)]
    names = _names("traces")
    if "none" in names:
        return []
    return [ConsoleSpanExporter() if name == "console" else _otlp_span_exporter(chosen, None) for name in names]


def log_exporters(protocol: str | None, endpoint: str | None) -> list[LogRecordExporter]:
    """Log exporters, by the same rules as :func:`span_exporters` (``OTEL_LOGS_EXPORTER``)."""
    chosen = _protocol("logs", protocol)
    if endpoint:
        return [_otlp_log_exporter(chosen, endpoint)]
    names = _names("logs")
    if "none" in names:
        return []
    return [ConsoleLogRecordExporter() if name == "console" else _otlp_log_exporter(chosen, None) for name in names]
