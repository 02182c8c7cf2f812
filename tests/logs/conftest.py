"""Fixtures for the log tests: one real SDK logger provider for the run, records captured in memory.

The provider is global because agent-framework emits its GenAI events through a logger it
takes from the global provider at import (a proxy that resolves once one is set), as in
users' apps. Python ``logging`` reaches it through the SDK's handler on the root logger,
attached for one test at a time.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator

import pytest
from opentelemetry._logs import get_logger_provider, set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from otel_identity import add_identity_log_processor

_EXPORTER = InMemoryLogRecordExporter()


class _WhileCollecting(SimpleLogRecordProcessor):
    """The SDK's processor, exporting only while a test asked for ``logs``: the provider stays
    global for the rest of the run (agent-framework keeps emitting events to it), and records
    of later tests must not pile up in memory."""

    active = False

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        if _WhileCollecting.active:
            super().on_emit(log_record)


@pytest.fixture(scope="session")
def logger_provider() -> LoggerProvider:
    """The process-wide SDK logger provider, with an exporter registered *before* ours, as a distro would."""
    current = get_logger_provider()
    if isinstance(current, LoggerProvider):
        provider = current
    else:
        provider = LoggerProvider(resource=Resource.create({"service.name": "otel-identity-log-tests"}))
        set_logger_provider(provider)
    provider.add_log_record_processor(_WhileCollecting(_EXPORTER))
    add_identity_log_processor(provider)
    return provider


@pytest.fixture
def logs(logger_provider: LoggerProvider) -> Iterator[InMemoryLogRecordExporter]:
    """Records exported during this test only; Python ``logging`` (root) goes to the provider meanwhile."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(logger_provider=logger_provider)
    root = logging.getLogger()
    root.addHandler(handler)
    _EXPORTER.clear()
    _WhileCollecting.active = True
    yield _EXPORTER
    _WhileCollecting.active = False
    root.removeHandler(handler)
    _EXPORTER.clear()
