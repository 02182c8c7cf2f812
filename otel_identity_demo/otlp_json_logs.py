"""Log records as OTLP/JSON lines, next to the spans: the demo's file holds both signals.

Each line is one ``ExportLogsServiceRequest`` (``resourceLogs``), encoded like the span lines
of :mod:`otel_identity_demo.otlp_json` (the OTLP JSON mapping: hex trace and span ids, integer
enums), so the Collector's ``otlpjsonfile`` receiver replays both and ``otel-identity
sessions`` reads both. :class:`LogCounter` is the report's side: log records and error
records (severity ERROR or above) per ``session.id``.

Usage
-----
::

    from otel_identity_demo.otlp_json_logs import OtlpJsonLogFileExporter

    otel_identity.configure(logs=True, log_exporter=OtlpJsonLogFileExporter("demo.jsonl"))
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]  # no stubs shipped
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from otel_identity import attributes as attr
from otel_identity_demo.otlp_json import AppendOnlyFile

__all__ = ["ERROR_SEVERITY", "LogCounter", "LogCounts", "OtlpJsonLogFileExporter", "encode_logs_line"]

logger = logging.getLogger("otel_identity")

ERROR_SEVERITY: Final = 17
"""OTLP ``SeverityNumber`` of ERROR (17-20); FATAL is 21-24. Python ``logging.ERROR`` maps to 17."""


def encode_logs_line(batch: Sequence[ReadableLogRecord]) -> bytes:
    """One OTLP/JSON ``ExportLogsServiceRequest`` for ``batch``, as one UTF-8 line ending in a newline."""
    request = MessageToDict(encode_logs(batch), use_integers_for_enums=True)
    for resource_logs in request.get("resourceLogs", ()):
        for scope_logs in resource_logs.get("scopeLogs", ()):
            for record in scope_logs.get("logRecords", ()):
                for key in ("traceId", "spanId"):
                    value = record.get(key)
                    if isinstance(value, str) and value:
                        record[key] = base64.b64decode(value).hex()
    return (json.dumps(request, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


class OtlpJsonLogFileExporter(LogRecordExporter):
    """Append each batch of log records to ``path`` as one OTLP/JSON line (same file rules as the span exporter)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = AppendOnlyFile(path)
        self.path = self._file.path

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if not batch:
            return LogRecordExportResult.SUCCESS
        try:
            line = encode_logs_line(batch)
        except Exception:
            logger.warning("otel-identity: could not encode %d log records as OTLP/JSON", len(batch), exc_info=True)
            return LogRecordExportResult.FAILURE
        ok = self._file.append(line, "log records")
        return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        self._file.close()


@dataclass
class LogCounts:
    """Log records of one session, and how many of them are errors."""

    records: int = 0
    errors: int = 0


def _session_of(record: Mapping[str, Any]) -> str | None:
    for item in record.get("attributes", ()) or ():
        if isinstance(item, Mapping) and item.get("key") == attr.SESSION_ID:
            value = (item.get("value") or {}).get("stringValue")
            return value if isinstance(value, str) and value else None
    return None


class LogCounter:
    """Feed it every OTLP/JSON request of a file (:meth:`add_request`); span requests are ignored."""

    def __init__(self) -> None:
        self.sessions: dict[str, LogCounts] = {}
        self.outside_sessions = 0

    def add_request(self, request: Mapping[str, Any]) -> None:
        for resource_logs in request.get("resourceLogs", ()) or ():
            for scope_logs in resource_logs.get("scopeLogs", ()) or ():
                for record in scope_logs.get("logRecords", ()) or ():
                    session = _session_of(record)
                    if session is None:
                        self.outside_sessions += 1
                        continue
                    counts = self.sessions.setdefault(session, LogCounts())
                    counts.records += 1
                    if int(record.get("severityNumber", 0) or 0) >= ERROR_SEVERITY:
                        counts.errors += 1

    def of(self, session_id: str) -> LogCounts:
        return self.sessions.get(session_id, LogCounts())
