"""pytest plugin: turn otel-identity on, with zero code in the suite under test (``-p framework_suites_on``).

Loaded by ``scripts/framework_suites.py`` for the "on" run only, from ``scripts/`` on ``PYTHONPATH``. pytest
imports ``-p`` plugins before any conftest or test module, so this runs before the suite imports a framework:
exactly what a user gets from ``otel_identity.configure(..., instrument=True)`` at the top of ``app.py``.

Nothing leaves the process: the span exporter is a counting no-op, ``OTEL_TRACES_EXPORTER`` and
``OTEL_METRICS_EXPORTER`` are ``none``. At the end the plugin writes what it saw (instrumentors enabled,
spans exported, spans carrying an identity attribute) to ``$FRAMEWORK_SUITES_ON_STATS`` so the report can
show otel-identity really was on.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
os.environ.setdefault("OTEL_METRICS_EXPORTER", "none")

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import otel_identity

_IDENTITY_KEYS = ("session.id", "gen_ai.conversation.id", "a2a.task.id", "otel_identity.run.id", "user.id")


class CountingNoopExporter(SpanExporter):
    """Drops every span; counts them, and those stamped with an identity attribute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans = 0
        self.stamped = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        stamped = sum(1 for span in spans if any(key in (span.attributes or {}) for key in _IDENTITY_KEYS))
        with self._lock:
            self.spans += len(spans)
            self.stamped += stamped
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


EXPORTER = CountingNoopExporter()
PROVIDER = otel_identity.configure(service_name="framework-suite", exporter=EXPORTER, instrument=True)


def _instrumented() -> list[str]:
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

    names = []
    classes, pending = [], list(BaseInstrumentor.__subclasses__())
    while pending:  # every subclass, not only direct ones (FrameworkInstrumentor sits in between)
        cls = pending.pop()
        classes.append(cls)
        pending.extend(cls.__subclasses__())
    for cls in classes:
        instance = getattr(cls, "_instance", None)
        if instance is not None and getattr(instance, "_is_instrumented_by_opentelemetry", False):
            names.append(f"{cls.__module__}.{cls.__name__}")
    return sorted(names)


def pytest_report_header(config: Any) -> str:
    return f"otel-identity ON: configure(service_name='framework-suite', instrument=True): {', '.join(_instrumented())}"


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    PROVIDER.force_flush()
    path = os.environ.get("FRAMEWORK_SUITES_ON_STATS")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"instrumented": _instrumented(), "spans": EXPORTER.spans, "stamped": EXPORTER.stamped}, out)
