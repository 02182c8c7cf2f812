"""Keep a broken telemetry pipeline from flooding the app's logs.

When the OTLP endpoint is down, slow or failing, the exporter logs a warning and an error
for every batch: hundreds of lines a minute in a busy agent service, about something the app
cannot act on. ``configure()`` puts this filter on the exporter loggers it brings in: each
distinct message is logged once, repeats are counted and summarised at most once per
interval, so an outage is visible without drowning the app's own logs.

Repeats still held back when the process exits are summarised then (an ``atexit`` hook that
runs after the tracer provider's own final flush), so the last word on a failing pipeline
says how many more exports failed, never silence.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from typing import Final

__all__ = ["EXPORT_LOGGERS", "RepeatedLogFilter", "quiet_export_logs"]

EXPORT_LOGGERS: Final = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.sdk._shared_internal",
)
"""Loggers of the OTLP span exporters and the batch processor (opentelemetry-sdk 1.45)."""


class RepeatedLogFilter(logging.Filter):
    """Let the first record of each message through; summarise repeats once per ``interval`` seconds."""

    def __init__(self, interval: float = 300.0) -> None:
        super().__init__()
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[tuple[str, int, str], tuple[float, int]] = {}
        self._held: dict[tuple[str, int, str], logging.LogRecord] = {}
        """The latest record held back for each message, to summarise at exit."""

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is None:
                self._last[key] = (now, 0)
                return True
            shown_at, suppressed = last
            if now - shown_at < self.interval:
                self._last[key] = (shown_at, suppressed + 1)
                self._held[key] = record
                return False
            self._last[key] = (now, 0)
            self._held.pop(key, None)
        if suppressed:
            record.msg = f"{record.msg} ({suppressed} more like this in the last {now - shown_at:.0f} s)"
        return True

    def summarise_held(self) -> None:
        """Log once each message whose repeats are still held back, with their count (at exit)."""
        now = time.monotonic()
        with self._lock:
            held = [(record, *self._last[key]) for key, record in self._held.items()]
            self._held.clear()
            for key in list(self._last):
                shown_at, _ = self._last[key]
                self._last[key] = (shown_at, 0)
        for record, shown_at, suppressed in held:
            if not suppressed:
                continue
            record.msg = f"{record.msg} ({suppressed} more like this in the last {now - shown_at:.0f} s, not shown)"
            logging.getLogger(record.name).callHandlers(record)  # past the filter that held them back


_FILTER = RepeatedLogFilter()
# Registered on import, before configure() creates a provider, so it runs after that provider's
# own atexit shutdown (atexit runs last-registered first) and sees the failures of the final flush.
atexit.register(_FILTER.summarise_held)


def quiet_export_logs() -> None:
    """Install the shared filter on the exporter loggers (idempotent)."""
    for name in EXPORT_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
