"""The sessions report: one conversation followed across runs, A2A tasks, responses and services.

It reads OTLP/JSON files (one ``ExportTraceServiceRequest`` per line: what
:class:`otel_identity_demo.otlp_json.OtlpJsonFileExporter` and the OpenTelemetry Collector's
``file`` exporter write) as a stream, line by line, and aggregates as it goes: memory grows
with the number of traces, sessions, tasks and results, never with the size of the file.

What is counted, per ``session.id``:

* **traces**: every trace in which at least one span carries that ``session.id``; the
  session's services, span count, start and duration are those of its traces (so a span
  of the session's trace that lacks ``session.id`` still shows its service);
* **runs** (``otel_identity.run.id``), **tasks** (``a2a.task.id``), **responses**
  (``gen_ai.response.id``, per service) and **errors** (spans with status ERROR): taken
  from a span carrying that ``session.id``, or from a span without any ``session.id``
  in one of the session's traces;
* **workflow runs** (agent-framework's ``workflow.run`` spans, by ``workflow.name`` and service) and
  **executors** (its ``executor.process`` spans, by ``executor.id`` and service: how many messages
  each executor processed), attributed like runs;
* **logs**: log records (``resourceLogs`` lines, as the demo writes next to its spans) carrying
  that ``session.id``, and how many of them are errors (severity ERROR or above);
* a task's **state history**: its ``otel_identity.a2a.task.state_change`` events at their time, and the
  ``a2a.task.state`` attribute of spans without such events at the span's start (the
  value in force when the span began), in time order, repeated states collapsed. When a
  service served the task (a SERVER span carries it), only that service's observations
  count: the owner of a task saw its states in order, while each client sees them later,
  as they arrive, and mixing both would repeat states.

Usage
-----
::

    otel-identity sessions otel-identity-demo.jsonl          # text
    otel-identity sessions spans.jsonl --json                # for machines

    from otel_identity_demo.sessions_report import build_report, render_text
    print(render_text(build_report(["spans.jsonl"])))
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any, Final

from otel_identity import attributes as attr
from otel_identity_demo.otlp_json_logs import LogCounter

__all__ = [
    "STDIN",
    "Report",
    "SessionSummary",
    "SpanRecord",
    "TaskSummary",
    "build_report",
    "natural_key",
    "read_spans",
    "render_text",
]

SERVICE_NAME: Final = "service.name"
STDIN: Final = "-"
"""The path that reads standard input."""
_DIGITS: Final = re.compile(r"(\d+)")
ERROR_TYPE: Final = "error.type"
_STATUS_ERROR: Final = 2
_KIND_SERVER: Final = 2
_KIND_NAMES: Final = {"SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3}
_STATUS_NAMES: Final = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_STATE_PREFIX: Final = "TASK_STATE_"
# agent-framework's workflow telemetry (agent_framework.observability.OtelAttr): span names and attributes.
WORKFLOW_RUN_SPAN: Final = "workflow.run"
WORKFLOW_NAME: Final = "workflow.name"
EXECUTOR_PROCESS_SPAN: Final = "executor.process"
EXECUTOR_ID: Final = "executor.id"
_UNNAMED: Final = "(unnamed)"

Progress = Callable[[int], None]
"""Called with the number of bytes read so far, after each line."""


# region reading


@dataclass(frozen=True)
class SpanEvent:
    name: str
    time_unix_nano: int
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class SpanRecord:
    """One span as read from an OTLP/JSON line (attribute values decoded to Python values)."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    service: str
    start_unix_nano: int
    end_unix_nano: int
    attributes: Mapping[str, Any]
    events: tuple[SpanEvent, ...]
    status_code: int
    status_message: str


def _hex_id(value: object) -> str:
    """Ids are hex in OTLP/JSON; the plain protobuf JSON mapping writes base64: accept both."""
    if not isinstance(value, str) or not value:
        return ""
    lowered = value.lower()
    if len(lowered) in (16, 32) and all(char in "0123456789abcdef" for char in lowered):
        return lowered
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return lowered


def _int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return 0
    if isinstance(value, float):
        return int(value)
    return 0


def _enum(value: object, names: Mapping[str, int]) -> int:
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        return names.get(value, 0)
    return _int(value)


def any_value(value: object) -> Any:
    """Decode an OTLP ``AnyValue`` JSON object into a Python value."""
    if not isinstance(value, Mapping):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return _int(value["intValue"])
    if "doubleValue" in value:
        raw = value["doubleValue"]
        return float(raw) if isinstance(raw, (int, float, str)) else None
    if "arrayValue" in value:
        return [any_value(item) for item in (value["arrayValue"] or {}).get("values", ())]
    if "kvlistValue" in value:
        return _attributes((value["kvlistValue"] or {}).get("values", ()))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def _attributes(items: Iterable[Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for item in items or ():
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            decoded[item["key"]] = any_value(item.get("value"))
    return decoded


def spans_of_request(request: Mapping[str, Any]) -> Iterator[SpanRecord]:
    """The spans of one decoded ``ExportTraceServiceRequest``."""
    for resource_spans in request.get("resourceSpans", ()) or ():
        resource = _attributes((resource_spans.get("resource") or {}).get("attributes", ()))
        service = str(resource.get(SERVICE_NAME) or "unknown_service")
        for scope_spans in resource_spans.get("scopeSpans", ()) or ():
            for span in scope_spans.get("spans", ()) or ():
                status = span.get("status") or {}
                yield SpanRecord(
                    trace_id=_hex_id(span.get("traceId")),
                    span_id=_hex_id(span.get("spanId")),
                    parent_span_id=_hex_id(span.get("parentSpanId")),
                    name=str(span.get("name", "")),
                    kind=_enum(span.get("kind", 0), _KIND_NAMES),
                    service=service,
                    start_unix_nano=_int(span.get("startTimeUnixNano", 0)),
                    end_unix_nano=_int(span.get("endTimeUnixNano", 0)),
                    attributes=_attributes(span.get("attributes", ())),
                    events=tuple(
                        SpanEvent(
                            name=str(event.get("name", "")),
                            time_unix_nano=_int(event.get("timeUnixNano", 0)),
                            attributes=_attributes(event.get("attributes", ())),
                        )
                        for event in span.get("events", ()) or ()
                    ),
                    status_code=_enum(status.get("code", 0), _STATUS_NAMES),
                    status_message=str(status.get("message", "")),
                )


@dataclass
class ReadStats:
    """What reading the files met, besides spans."""

    lines: int = 0
    bad_lines: int = 0
    bytes_read: int = 0


def _open(path: str | os.PathLike[str]) -> contextlib.AbstractContextManager[IO[bytes]]:
    if os.fspath(path) == STDIN:
        return contextlib.nullcontext(sys.stdin.buffer)  # not closed: it is not ours
    return open(path, "rb")


def read_spans(
    paths: Iterable[str | os.PathLike[str]],
    *,
    stats: ReadStats | None = None,
    progress: Progress | None = None,
    logs: LogCounter | None = None,
) -> Iterator[SpanRecord]:
    """Every span in ``paths``, one line at a time; a line that is not OTLP/JSON is counted and skipped.

    The path ``-`` is standard input (``... | otel-identity sessions -``).
    """
    stats = stats if stats is not None else ReadStats()
    for path in paths:
        with _open(path) as stream:
            for raw in stream:
                stats.bytes_read += len(raw)
                if not raw.strip():
                    continue
                stats.lines += 1
                try:
                    request = json.loads(raw)
                    if logs is not None and isinstance(request, Mapping):
                        logs.add_request(request)  # log lines: counted per session; they hold no spans
                    records = list(spans_of_request(request)) if isinstance(request, Mapping) else None
                except (ValueError, TypeError, AttributeError):
                    records = None
                if records is None:
                    stats.bad_lines += 1
                else:
                    yield from records
                if progress is not None:
                    progress(stats.bytes_read)


# endregion

# region aggregation


@dataclass(frozen=True, order=True)
class _Observation:
    time: int
    order: int
    state: str
    service: str


@dataclass
class _Task:
    services: set[str] = field(default_factory=set)
    servers: dict[str, int] = field(default_factory=dict)
    """Services that served the task -> number of their SERVER spans carrying it."""
    observations: list[_Observation] = field(default_factory=list)

    def merge(self, other: _Task) -> None:
        self.services |= other.services
        for service, count in other.servers.items():
            self.servers[service] = self.servers.get(service, 0) + count
        self.observations.extend(other.observations)

    def owner(self) -> str | None:
        """The service that served the task (most SERVER spans carrying it), if any did."""
        return max(sorted(self.servers), key=lambda service: self.servers[service], default=None)

    def history(self) -> tuple[str, ...]:
        owner = self.owner()
        states: list[str] = []
        for observation in sorted(self.observations):
            if owner is not None and observation.service != owner:
                continue
            if not states or states[-1] != observation.state:
                states.append(observation.state)
        return tuple(states)

    def first_seen(self) -> int:
        return min((observation.time for observation in self.observations), default=0)


@dataclass
class _Items:
    """Identities and errors found on spans, before or after they are assigned to a session."""

    runs: dict[str, set[str]] = field(default_factory=dict)
    tasks: dict[str, _Task] = field(default_factory=dict)
    responses: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(service, response id)`` -> number of spans carrying it."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    workflow_runs: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(service, workflow name)`` -> number of ``workflow.run`` spans."""
    executors: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(service, executor id)`` -> number of ``executor.process`` spans."""
    executors_first: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(service, executor id)`` -> start of its first ``executor.process`` span."""

    def merge(self, other: _Items) -> None:
        for run_id, services in other.runs.items():
            self.runs.setdefault(run_id, set()).update(services)
        for task_id, task in other.tasks.items():
            self.tasks.setdefault(task_id, _Task()).merge(task)
        for key, count in other.responses.items():
            self.responses[key] = self.responses.get(key, 0) + count
        self.errors.extend(other.errors)
        for counts, more in ((self.workflow_runs, other.workflow_runs), (self.executors, other.executors)):
            for key, count in more.items():
                counts[key] = counts.get(key, 0) + count
        for key, start in other.executors_first.items():
            self.executors_first[key] = min(start, self.executors_first.get(key, start))


@dataclass
class _Trace:
    sessions: set[str] = field(default_factory=set)
    services: set[str] = field(default_factory=set)
    spans: int = 0
    start: int = 0
    end: int = 0
    unassigned: _Items = field(default_factory=_Items)


@dataclass(frozen=True)
class TaskSummary:
    task_id: str
    services: tuple[str, ...]
    """Every service with a span carrying the task."""
    server: str | None
    """The service that served it (``None`` when no SERVER span carries it)."""
    states: tuple[str, ...]
    """State history by A2A name, oldest first, repeats collapsed."""

    @property
    def final_state(self) -> str | None:
        return self.states[-1] if self.states else None


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    services: tuple[str, ...]
    trace_ids: tuple[str, ...]
    span_count: int
    start_unix_nano: int
    end_unix_nano: int
    runs: tuple[tuple[str, tuple[str, ...]], ...]
    """``(run id, services)`` in id order."""
    tasks: tuple[TaskSummary, ...]
    responses: tuple[tuple[str, str, int], ...]
    """``(service, response id, number of spans carrying it)``."""
    errors: tuple[Mapping[str, Any], ...]
    logs: int = 0
    """Log records carrying the session's ``session.id``."""
    log_errors: int = 0
    """Of those, records at severity ERROR or above."""
    workflow_runs: tuple[tuple[str, str, int], ...] = ()
    """``(service, workflow name, number of workflow.run spans)``, by service and name."""
    executors: tuple[tuple[str, str, int], ...] = ()
    """``(service, executor id, number of executor.process spans)``, by service and first start."""

    @property
    def workflow_run_count(self) -> int:
        return sum(count for _, _, count in self.workflow_runs)

    @property
    def duration_seconds(self) -> float:
        return max(0, self.end_unix_nano - self.start_unix_nano) / 1e9


@dataclass(frozen=True)
class Report:
    sessions: tuple[SessionSummary, ...]
    span_count: int
    spans_outside_sessions: int
    traces_outside_sessions: int
    lines: int
    bad_lines: int

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (stable keys; times in Unix nanoseconds and ISO 8601)."""
        return {
            "sessions": [
                {
                    "session_id": session.session_id,
                    "services": list(session.services),
                    "start": _iso(session.start_unix_nano),
                    "start_unix_nano": session.start_unix_nano,
                    "duration_seconds": round(session.duration_seconds, 6),
                    "trace_ids": list(session.trace_ids),
                    "span_count": session.span_count,
                    "runs": [{"run_id": run_id, "services": list(services)} for run_id, services in session.runs],
                    "tasks": [
                        {
                            "task_id": task.task_id,
                            "services": list(task.services),
                            "server": task.server,
                            "states": list(task.states),
                            "final_state": task.final_state,
                        }
                        for task in session.tasks
                    ],
                    "responses": [
                        {"service": service, "response_id": response_id, "spans": count}
                        for service, response_id, count in session.responses
                    ],
                    "errors": [dict(error) for error in session.errors],
                    "logs": session.logs,
                    "log_errors": session.log_errors,
                    "workflow_runs": [
                        {"service": service, "workflow": name, "runs": count}
                        for service, name, count in session.workflow_runs
                    ],
                    "executors": [
                        {"service": service, "executor_id": executor_id, "messages": count}
                        for service, executor_id, count in session.executors
                    ],
                }
                for session in self.sessions
            ],
            "span_count": self.span_count,
            "spans_outside_sessions": self.spans_outside_sessions,
            "traces_outside_sessions": self.traces_outside_sessions,
            "lines": self.lines,
            "bad_lines": self.bad_lines,
        }


class SessionsAggregator:
    """Feed spans with :meth:`add` in any order; :meth:`report` summarises them per session."""

    def __init__(self) -> None:
        self._traces: dict[str, _Trace] = {}
        self._sessions: dict[str, _Items] = {}
        self._order = 0
        self.span_count = 0

    def add(self, span: SpanRecord) -> None:
        self.span_count += 1
        trace = self._traces.get(span.trace_id)
        if trace is None:
            trace = self._traces[span.trace_id] = _Trace(start=span.start_unix_nano, end=span.end_unix_nano)
        trace.spans += 1
        trace.services.add(span.service)
        trace.start = min(trace.start, span.start_unix_nano)
        trace.end = max(trace.end, span.end_unix_nano)
        session_id = span.attributes.get(attr.SESSION_ID)
        if isinstance(session_id, str) and session_id:
            trace.sessions.add(session_id)
            items = self._sessions.setdefault(session_id, _Items())
        else:
            items = trace.unassigned
        self._collect(span, items)

    def _collect(self, span: SpanRecord, items: _Items) -> None:
        attributes = span.attributes
        run_id = attributes.get(attr.RUN_ID)
        if isinstance(run_id, str) and run_id:
            items.runs.setdefault(run_id, set()).add(span.service)
        response_id = attributes.get(attr.GEN_AI_RESPONSE_ID)
        if isinstance(response_id, str) and response_id:
            key = (span.service, response_id)
            items.responses[key] = items.responses.get(key, 0) + 1
        self._collect_workflow(span, items)
        if span.status_code == _STATUS_ERROR:
            items.errors.append(
                {
                    "service": span.service,
                    "span": span.name,
                    "trace_id": span.trace_id,
                    "span_id": span.span_id,
                    "error_type": attributes.get(ERROR_TYPE),
                    "message": span.status_message or None,
                }
            )
        self._collect_tasks(span, items)

    def _collect_workflow(self, span: SpanRecord, items: _Items) -> None:
        if span.name == WORKFLOW_RUN_SPAN:
            name = span.attributes.get(WORKFLOW_NAME)
            key = (span.service, name if isinstance(name, str) and name else _UNNAMED)
            items.workflow_runs[key] = items.workflow_runs.get(key, 0) + 1
        elif span.name == EXECUTOR_PROCESS_SPAN or span.name.startswith(EXECUTOR_PROCESS_SPAN + " "):
            executor_id = span.attributes.get(EXECUTOR_ID)
            if not isinstance(executor_id, str) or not executor_id:
                executor_id = span.name[len(EXECUTOR_PROCESS_SPAN) :].strip() or _UNNAMED
            key = (span.service, executor_id)
            items.executors[key] = items.executors.get(key, 0) + 1
            first = items.executors_first.get(key)
            items.executors_first[key] = span.start_unix_nano if first is None else min(first, span.start_unix_nano)

    def _collect_tasks(self, span: SpanRecord, items: _Items) -> None:
        with_events: set[str] = set()
        for event in span.events:
            if event.name != attr.TASK_STATE_CHANGE_EVENT:
                continue
            task_id = event.attributes.get(attr.A2A_TASK_ID) or span.attributes.get(attr.A2A_TASK_ID)
            state = event.attributes.get(attr.A2A_TASK_STATE)
            if isinstance(task_id, str) and task_id and isinstance(state, str) and state:
                with_events.add(task_id)
                self._observe(items, task_id, span.service, event.time_unix_nano, state)
        task_id = span.attributes.get(attr.A2A_TASK_ID)
        if not isinstance(task_id, str) or not task_id:
            return
        task = items.tasks.setdefault(task_id, _Task())
        task.services.add(span.service)
        if span.kind == _KIND_SERVER:
            task.servers[span.service] = task.servers.get(span.service, 0) + 1
        state = span.attributes.get(attr.A2A_TASK_STATE)
        if task_id not in with_events and isinstance(state, str) and state:
            self._observe(items, task_id, span.service, span.start_unix_nano, state)

    def _observe(self, items: _Items, task_id: str, service: str, time: int, state: str) -> None:
        self._order += 1
        task = items.tasks.setdefault(task_id, _Task())
        task.services.add(service)
        task.observations.append(_Observation(time, self._order, state, service))

    def report(self, *, lines: int = 0, bad_lines: int = 0) -> Report:
        sessions: dict[str, _Items] = {key: _copy(items) for key, items in self._sessions.items()}
        traces_of: dict[str, list[tuple[str, _Trace]]] = {key: [] for key in sessions}
        outside_spans = outside_traces = 0
        for trace_id, trace in self._traces.items():
            if not trace.sessions:
                outside_spans += trace.spans
                outside_traces += 1
                continue
            for session_id in trace.sessions:
                sessions[session_id].merge(trace.unassigned)
                traces_of[session_id].append((trace_id, trace))
        summaries = [_summarise(key, sessions[key], traces_of[key]) for key in sessions]
        summaries.sort(key=lambda summary: (summary.start_unix_nano, summary.session_id))
        return Report(
            sessions=tuple(summaries),
            span_count=self.span_count,
            spans_outside_sessions=outside_spans,
            traces_outside_sessions=outside_traces,
            lines=lines,
            bad_lines=bad_lines,
        )


def _copy(items: _Items) -> _Items:
    copied = _Items()
    copied.merge(items)
    return copied


def _summarise(session_id: str, items: _Items, traces: list[tuple[str, _Trace]]) -> SessionSummary:
    traces.sort(key=lambda pair: (pair[1].start, pair[0]))
    services = sorted({service for _, trace in traces for service in trace.services})
    ordered = sorted(items.tasks.items(), key=lambda pair: (pair[1].first_seen(), pair[0]))
    tasks = [
        TaskSummary(task_id, tuple(sorted(task.services)), task.owner(), task.history()) for task_id, task in ordered
    ]
    return SessionSummary(
        session_id=session_id,
        services=tuple(services),
        trace_ids=tuple(trace_id for trace_id, _ in traces),
        span_count=sum(trace.spans for _, trace in traces),
        start_unix_nano=min((trace.start for _, trace in traces), default=0),
        end_unix_nano=max((trace.end for _, trace in traces), default=0),
        runs=tuple((run_id, tuple(sorted(services))) for run_id, services in sorted(items.runs.items())),
        tasks=tuple(tasks),
        responses=tuple(
            sorted(
                ((service, response_id, count) for (service, response_id), count in items.responses.items()),
                key=lambda item: (item[0], natural_key(item[1])),
            )
        ),
        errors=tuple(sorted(items.errors, key=lambda error: (error["service"], error["span"], error["span_id"]))),
        workflow_runs=tuple((service, name, count) for (service, name), count in sorted(items.workflow_runs.items())),
        executors=tuple(
            (service, executor_id, count)
            for (service, executor_id), count in sorted(
                items.executors.items(),
                key=lambda pair: (pair[0][0], items.executors_first.get(pair[0], 0), pair[0][1]),
            )
        ),
    )


def build_report(paths: Iterable[str | os.PathLike[str]], *, progress: Progress | None = None) -> Report:
    """Read ``paths`` as a stream and summarise their spans per session."""
    stats = ReadStats()
    aggregator = SessionsAggregator()
    logs = LogCounter()
    for span in read_spans(paths, stats=stats, progress=progress, logs=logs):
        aggregator.add(span)
    report = aggregator.report(lines=stats.lines, bad_lines=stats.bad_lines)
    sessions = tuple(
        dataclasses.replace(session, logs=counts.records, log_errors=counts.errors)
        for session, counts in ((session, logs.of(session.session_id)) for session in report.sessions)
    )
    return dataclasses.replace(report, sessions=sessions)


# endregion

# region text


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders the numbers inside ids by value: ``resp_2`` before ``resp_10``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part)


def _iso(unix_nano: int) -> str:
    moment = datetime.fromtimestamp(unix_nano / 1e9, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _short_state(state: str) -> str:
    return state[len(_STATE_PREFIX) :] if state.startswith(_STATE_PREFIX) else state


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _grouped(label: str, groups: Mapping[str, list[str]]) -> list[str]:
    lines = []
    for service, values in sorted(groups.items()):
        lines.append(f"  {label:<10} {service}: {', '.join(values)}")
        label = ""
    return lines


def render_text(report: Report) -> str:
    """The report for people: one block per session, oldest first."""
    lines: list[str] = []
    for session in report.sessions:
        lines.append(f"session {session.session_id}")
        lines.append(f"  services   {', '.join(session.services)}")
        lines.append(f"  start      {_iso(session.start_unix_nano)}, duration {session.duration_seconds:.3f} s")
        lines.append(
            f"  counts     {_plural(len(session.trace_ids), 'trace')}, {_plural(session.span_count, 'span')}, "
            f"{_plural(len(session.runs), 'run')}, {_plural(len(session.tasks), 'task')}, "
            f"{_plural(len(session.responses), 'response')}, {_plural(len(session.errors), 'error')}, "
            f"{_plural(session.logs, 'log record')} ({_plural(session.log_errors, 'error')}), "
            f"{_plural(session.workflow_run_count, 'workflow run')}"
        )
        lines.append(f"  traces     {', '.join(session.trace_ids)}")
        runs: dict[str, list[str]] = {}
        for run_id, services in session.runs:
            runs.setdefault(", ".join(services), []).append(run_id)
        lines.extend(_grouped("runs", runs))
        for index, task in enumerate(session.tasks):
            history = " -> ".join(_short_state(state) for state in task.states) or "(no state recorded)"
            where = task.server or ", ".join(task.services)
            lines.append(f"  {'tasks' if index == 0 else '':<10} {task.task_id}  {where}: {history}")
        workflows: dict[str, list[str]] = {}
        for service, name, count in session.workflow_runs:
            workflows.setdefault(service, []).append(f"{name} ({_plural(count, 'run')})")
        lines.extend(_grouped("workflows", workflows))
        executors: dict[str, list[str]] = {}
        for service, executor_id, count in session.executors:
            # Each executor.process span is one message the executor processed.
            executors.setdefault(service, []).append(f"{executor_id} ({_plural(count, 'message')})")
        lines.extend(_grouped("executors", executors))
        responses: dict[str, list[str]] = {}
        for service, response_id, count in session.responses:
            # One response id on several spans (the run span and the chat span that produced it).
            responses.setdefault(service, []).append(response_id if count == 1 else f"{response_id} (on {count} spans)")
        lines.extend(_grouped("responses", responses))
        for index, error in enumerate(session.errors):
            cause = error.get("error_type") or error.get("message") or "error"
            lines.append(f"  {'errors' if index == 0 else '':<10} {error['service']}: {error['span']}: {cause}")
        lines.append("")
    summary = (
        f"{_plural(len(report.sessions), 'session')}, {_plural(report.span_count, 'span')} "
        f"({report.spans_outside_sessions} outside any session, in "
        f"{_plural(report.traces_outside_sessions, 'trace')})"
    )
    if report.bad_lines:
        summary += f"; {_plural(report.bad_lines, 'line')} skipped (not OTLP/JSON)"
    lines.append(summary)
    return "\n".join(lines)


# endregion
