"""A span exporter that appends OTLP/JSON to a local file: one ``ExportTraceServiceRequest`` per line.

This is the format of the OpenTelemetry Collector's ``file`` exporter and what its
``otlpjsonfile`` receiver reads, so a file written here can be loaded into Jaeger, Tempo or any
OTLP backend later, and ``otel-identity sessions FILE`` reads both. The encoding is the OTLP
JSON mapping: the protobuf JSON mapping of the OTLP request (``lowerCamelCase`` keys, 64-bit
integers as decimal strings) with the two exceptions the OTLP specification makes: trace and
span ids are hex strings (not base64) and enums are integers.

Several processes may append to one file: the file is opened with ``O_APPEND`` and each
request is written with a single ``write`` call, so lines never interleave; a lock makes
one exporter safe to share between threads.

Usage
-----
::

    import otel_identity
    from otel_identity_demo.otlp_json import OtlpJsonFileExporter

    otel_identity.configure(service_name="concierge", exporter=OtlpJsonFileExporter("spans.jsonl"))
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any, Final

from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]  # no stubs shipped
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["AppendOnlyFile", "OtlpJsonFileExporter", "encode_line"]

logger = logging.getLogger("otel_identity")

_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_ID_KEYS: Final = ("traceId", "spanId", "parentSpanId")


def _hex_ids(item: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        value = item.get(key)
        if isinstance(value, str) and value:
            item[key] = base64.b64decode(value).hex()


def encode_line(spans: Sequence[ReadableSpan]) -> bytes:
    """One OTLP/JSON ``ExportTraceServiceRequest`` for ``spans``, as one line of UTF-8 ending in a newline."""
    request = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for resource_spans in request.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                _hex_ids(span)
                for link in span.get("links", ()):
                    _hex_ids(link)
    return (json.dumps(request, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


class AppendOnlyFile:
    """A file that export threads append whole lines to: one ``write(2)`` per line, never buffered.

    Opened on construction, so a path that cannot be written raises ``OSError`` at set-up,
    never later on an export thread. Shared by the span and log-record exporters.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._fd: int | None = os.open(self.path, _FLAGS, 0o644)

    def append(self, line: bytes, what: str) -> bool:
        """Write ``line`` (``what`` names its contents for the log); ``False`` when it did not all land."""
        with self._lock:
            if self._fd is None:
                return False
            try:
                written = os.write(self._fd, line)
            except OSError:
                logger.warning("otel-identity: could not write %s to %s", what, self.path, exc_info=True)
                return False
        if written != len(line):  # only on a full disk or similar: a torn line is better reported than hidden
            logger.warning("otel-identity: short write to %s (%d of %d bytes)", self.path, written, len(line))
            return False
        return True

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class OtlpJsonFileExporter(SpanExporter):
    """Append each batch of spans to ``path`` as one OTLP/JSON line (see :class:`AppendOnlyFile`)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = AppendOnlyFile(path)
        self.path = self._file.path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            line = encode_line(spans)
        except Exception:
            logger.warning("otel-identity: could not encode %d spans as OTLP/JSON", len(spans), exc_info=True)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS if self._file.append(line, "spans") else SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        # Every export is already a write(2) to the file; nothing is buffered in this process.
        return True

    def shutdown(self) -> None:
        self._file.close()
