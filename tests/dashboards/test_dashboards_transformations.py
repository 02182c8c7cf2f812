"""The tables' Grafana transformations, run with Grafana's own code (@grafana/data) on frames shaped like
those of Grafana's Tempo data source (a TraceQL span search, ``tableType: spans``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from dashboard_tools import dashboards, panels, run_node
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import _transforms, session_detail, sessions
from otel_identity import attributes as attr

SPAN_COLUMNS = ("trace", "span", "start_ms", "duration_ns")


def span_frame(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """A frame as Tempo's span table builds it: fixed columns, then one column per selected attribute
    (named by the attribute without its scope); ``None`` is an attribute the span does not have."""
    values = list(zip(*rows, strict=True)) if rows else [()] * (len(SPAN_COLUMNS) + len(columns))

    def field(name: str, kind: str, index: int, display: str | None = None, **config: Any) -> dict[str, Any]:
        if display is not None:
            config["displayNameFromDS"] = display
        return {"name": name, "type": kind, "config": config, "values": list(values[index])}

    fields = [
        field("traceIdHidden", "string", 0, custom={"hidden": True}),
        field("traceService", "string", 0, "Trace Service"),
        field("traceName", "string", 0, "Trace Name"),
        field("spanID", "string", 1, "Span ID"),
        field("time", "time", 2, "Start time"),
    ]
    fields += [field(name, "string", len(SPAN_COLUMNS) + i, name) for i, name in enumerate(columns)]
    fields.append(field("duration", "number", 3, "Duration", unit="ns"))
    return {"name": "Spans", "refId": "traces", "fields": fields}


def transform(transformations: Sequence[Any], frame: dict[str, Any]) -> dict[str, list[Any]]:
    """Display name -> values of the single frame Grafana's transformations produce."""
    encoded = json.loads(JSONEncoder().encode(list(transformations)))
    result = run_node("grafana-transform.cjs", {"transformations": encoded, "frames": [frame]})
    (out,) = result["frames"]
    return {field["displayName"]: field["values"] for field in out["fields"]}


SESSION_COLUMNS = (
    attr.SESSION_ID,
    "service.name",
    attr.RUN_ID,
    attr.A2A_TASK_ID,
    attr.GEN_AI_RESPONSE_ID,
    "status",
)
# trace, span, start (ms), duration (ns), session, service, run, task, response, status
SESSION_ROWS = [
    # s-1, trace 1: the concierge's run calls flights over A2A; flights' server span has no run id
    ("t1", "a", 1_000, 3_000_000_000, "s-1", "concierge", "run-1", None, "resp-1", "unset"),
    ("t1", "b", 1_100, 2_000_000_000, "s-1", "concierge", "run-1", "task-1", None, "unset"),
    ("t1", "c", 1_200, 1_500_000_000, "s-1", "flights", None, "task-1", None, "error"),
    ("t1", "d", 1_300, 1_000_000_000, "s-1", "flights", "run-2", "task-1", "resp-2", "unset"),
    # s-1, trace 2: a later turn, same task resumed, a chat span with its own response
    ("t2", "e", 60_000, 500_000_000, "s-1", "concierge", "run-3", "task-1", None, "ok"),
    ("t2", "f", 60_100, 200_000_000, "s-1", "concierge", "run-3", None, "resp-3", "unset"),
    # s-2: one local run, no task, no response id, no error
    ("t3", "g", 30_000, 1_000_000, "s-2", "hotels", "run-9", None, None, "unset"),
]


def test_the_sessions_table_counts_each_identity_of_a_session_once() -> None:
    table = transform(sessions.sessions_table_transformations(), span_frame(SESSION_COLUMNS, SESSION_ROWS))
    assert list(table) == [
        sessions.SESSION,
        sessions.SERVICES,
        sessions.TRACES,
        sessions.RUNS,
        sessions.TASKS,
        sessions.RESPONSES,
        sessions.ERRORS,
        sessions.FIRST_SEEN,
        sessions.LAST_SEEN,
        sessions.DURATION,
    ]
    assert table[sessions.SESSION] == ["s-1", "s-2"]  # last seen first
    assert table[sessions.SERVICES] == [2, 1]
    assert table[sessions.TRACES] == [2, 1]
    assert table[sessions.RUNS] == [3, 1]  # the server span without a run id is not a run
    assert table[sessions.TASKS] == [1, 0]
    assert table[sessions.RESPONSES] == [3, 0]
    assert table[sessions.ERRORS] == [1, 0]
    assert table[sessions.FIRST_SEEN] == [1_000, 30_000]
    assert table[sessions.LAST_SEEN] == [60_500, 30_001]  # the latest span end: start + duration
    assert table[sessions.DURATION] == [59_500, 1]


def test_the_sessions_table_counts_ids_when_every_span_has_them() -> None:
    rows = [
        ("t1", "a", 1_000, 1_000_000, "s-1", "concierge", "run-1", "task-1", "resp-1", "error"),
        ("t1", "b", 2_000, 1_000_000, "s-1", "concierge", "run-2", "task-2", "resp-2", "error"),
    ]
    table = transform(sessions.sessions_table_transformations(), span_frame(SESSION_COLUMNS, rows))
    assert (table[sessions.RUNS], table[sessions.TASKS], table[sessions.RESPONSES]) == ([2], [2], [2])
    assert table[sessions.ERRORS] == [2]


def test_the_sessions_table_of_an_empty_search_is_empty() -> None:
    table = transform(sessions.sessions_table_transformations(), span_frame(SESSION_COLUMNS, []))
    assert all(values == [] for values in table.values())


def test_the_tasks_table_shows_each_tasks_last_state_and_states_seen() -> None:
    columns = (attr.A2A_TASK_ID, attr.A2A_TASK_STATE, "service.name")
    # start (ms), duration (ns): the client span of task-1 starts first and ends last, with the final
    # state; a span inside the task's execution starts last but ended while the task was working.
    rows = [
        ("t1", "a", 1_000, 9_000_000_000, "task-1", "TASK_STATE_COMPLETED", "concierge"),
        ("t1", "b", 1_500, 7_000_000_000, "task-1", "TASK_STATE_COMPLETED", "flights"),
        ("t1", "c", 2_000, 1_000_000_000, "task-1", "TASK_STATE_WORKING", "flights"),
        ("t3", "d", 4_000, 1_000_000, "task-2", "TASK_STATE_FAILED", "hotels"),
    ]
    table = transform(session_detail.tasks_table_transformations(), span_frame(columns, rows))
    assert table[session_detail.TASK] == ["task-1", "task-2"]
    assert table[session_detail.LAST_STATE] == ["TASK_STATE_COMPLETED", "TASK_STATE_FAILED"]
    assert table[session_detail.STATES] == [["TASK_STATE_WORKING", "TASK_STATE_COMPLETED"], ["TASK_STATE_FAILED"]]
    assert table[session_detail.SERVICES] == [["flights", "concierge"], ["hotels"]]
    assert table[session_detail.FIRST_SEEN] == [1_000, 4_000]
    assert table[session_detail.LAST_SEEN] == [10_000, 4_001]


def test_span_tables_list_spans_oldest_first_without_the_trace_columns() -> None:
    (runs,) = [p for p in panels(dashboards()["agent-session-detail.json"]) if p["title"] == "Runs in time order"]
    rows = [("t1", "b", 2_000, 1, "concierge"), ("t1", "a", 1_000, 1, "flights")]
    table = transform(runs["transformations"], span_frame(("service.name",), rows))
    assert table["Span ID"] == ["a", "b"]
    assert "Trace Service" not in table and "Trace Name" not in table


def test_the_harness_runs_every_transformation_the_dashboards_use() -> None:
    used = {t["id"] for model in dashboards().values() for p in panels(model) for t in p.get("transformations", [])}
    assert used <= {"calculateField", "convertFieldType", "groupBy", "organize", "sortBy"}
    unknown = {"id": "notATransformation", "options": {}}
    frame = span_frame((), [])
    try:
        run_node("grafana-transform.cjs", {"transformations": [unknown], "frames": [frame]})
    except AssertionError as error:
        assert "notATransformation" in str(error)
    else:
        raise AssertionError("an unknown transformation must fail the harness")
    assert _transforms.aggregated("x", "max") == "x (max)"
