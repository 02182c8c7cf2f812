"""Identity on log records and events: the same scope identities spans get, for Loki and friends.

Usage
-----
``configure(logs=True)`` (or ``OTEL_LOGS_EXPORTER=otlp``) sets this up; by hand::

    from opentelemetry.sdk._logs import LoggerProvider
    import otel_identity

    provider = LoggerProvider()
    otel_identity.add_identity_log_processor(provider)  # first, before the exporting processors

Every record emitted through the provider (Python ``logging`` via OpenTelemetry's handler,
``Logger.emit`` events, agent-framework's GenAI message events) inside a scope then carries
``session.id``, the conversation, the run and task ids: the keys
:meth:`otel_identity.Identities.log_attributes` derives from the placement table, never a
single-result id or a raw token. A key the record already has keeps its value.

Why the processor goes first
----------------------------
The SDK calls log processors in order, and its batching processor queues a shallow copy of
the record that shares the attribute mapping with the export thread. An enricher added
after it would race that thread (and could be encoded half-written), so
:func:`add_identity_log_processor` puts ours in front of the processors already there.
"""

from __future__ import annotations

import logging
import threading
import weakref

from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor, ReadWriteLogRecord

from otel_identity._identities import get_identities
from otel_identity._safety import report_swallowed

__all__ = ["IdentityLogRecordProcessor", "add_identity_log_processor"]

logger = logging.getLogger("otel_identity")

_lock = threading.Lock()
_has_processor: weakref.WeakSet[LoggerProvider] = weakref.WeakSet()


class IdentityLogRecordProcessor(LogRecordProcessor):
    """Stamps the identities in scope where the record was emitted onto the record.

    The scope is read from the record's own context (the one it was emitted in; the SDK
    fills it with the current context when the caller gives none). It never raises and
    never blocks: a failure is logged once and the record goes on unchanged.
    """

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        try:
            record = log_record.log_record
            identities = get_identities(record.context)
            if identities is None:
                return
            stamp = identities.log_attributes()
            if not stamp:
                return
            attributes = record.attributes
            if attributes is None:
                record.attributes = stamp
                return
            for key, value in stamp.items():
                if key not in attributes:
                    attributes[key] = value  # type: ignore[index]  # ReadWriteLogRecord's are mutable
        except Exception:
            report_swallowed("IdentityLogRecordProcessor.on_emit")

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _prepend(provider: LoggerProvider, processor: LogRecordProcessor) -> bool:
    """Put ``processor`` before the provider's processors; ``False`` when the SDK's layout is unknown.

    Uses the SDK's private processor tuple (``LoggerProvider._multi_log_record_processor.
    _log_record_processors``, the same in 1.45 for the synchronous and concurrent variants),
    swapped under the multi-processor's own lock exactly as its public ``add`` does.
    """
    multi = getattr(provider, "_multi_log_record_processor", None)
    lock = getattr(multi, "_lock", None)
    if multi is None or lock is None or not isinstance(getattr(multi, "_log_record_processors", None), tuple):
        return False
    with lock:
        multi._log_record_processors = (processor, *multi._log_record_processors)
    return True


def add_identity_log_processor(provider: LoggerProvider) -> bool:
    """Add :class:`IdentityLogRecordProcessor` to ``provider`` unless it has one; ``True`` if added.

    It is placed before the processors already registered (see the module docstring); if a
    future SDK changes that layout, it is appended instead and a warning says records
    exported by earlier processors may miss identity.
    """
    with _lock:
        if provider in _has_processor:
            return False
        processor = IdentityLogRecordProcessor()
        if not _prepend(provider, processor):
            provider.add_log_record_processor(processor)
            logger.warning(
                "otel-identity: could not place the identity log processor first; "
                "records exported by processors added earlier may miss identity"
            )
        _has_processor.add(provider)
        return True
