"""End to end without Docker: the demo's real spans, searched with the sessions table's TraceQL query (as
Tempo would answer it), shaped as Grafana's Tempo data source shapes a span table, and transformed
with Grafana's own code, give the same numbers per session as ``otel-identity sessions``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from dashboard_tools import REPO, run_node
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import _names, a2a, session_detail, sessions
from otel_identity import attributes as attr
from otel_identity_demo.sessions_report import Report, SpanRecord, build_report, read_spans

KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUSES = {0: "unset", 1: "ok", 2: "error"}
COUNTS = {sessions.SERVICES, sessions.TRACES, sessions.RUNS, sessions.TASKS, sessions.RESPONSES, sessions.ERRORS}


@pytest.fixture(scope="module")
def demo_spans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spans of one run of ``otel-identity demo``, as OTLP/JSON."""
    path = tmp_path_factory.mktemp("demo") / "demo.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    cli = "import sys; from otel_identity_demo.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", cli, "demo", "--output", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return path


def search(query: str, spans: Sequence[SpanRecord]) -> list[dict[str, Any]]:
    """What Tempo returns for a TraceQL span search over these spans (see traceql-search.cjs)."""
    payload = {
        "query": query,
        "spans": [
            {
                "traceId": span.trace_id,
                "spanId": span.span_id,
                "startMs": span.start_unix_nano / 1e6,
                "durationNs": span.end_unix_nano - span.start_unix_nano,
                "name": span.name,
                "kind": KINDS[span.kind],
                "status": STATUSES[span.status_code],
                "resource": {"service.name": span.service},
                "attributes": dict(span.attributes),
            }
            for span in spans
        ],
    }
    found: list[dict[str, Any]] = run_node("traceql-search.cjs", payload)["spans"]
    return found


def tempo_span_frame(found: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The frame Grafana's Tempo data source builds from a span search (createTableFrameFromTraceQlQueryAsSpans)."""
    names = sorted({name for span in found for name in span["attributes"]})

    def column(name: str, kind: str, values: list[Any], display: str, **config: Any) -> dict[str, Any]:
        return {"name": name, "type": kind, "config": {"displayNameFromDS": display, **config}, "values": values}

    return {
        "name": "Spans",
        "refId": "traces",
        "fields": [
            {"name": "traceIdHidden", "type": "string", "config": {}, "values": [s["traceId"] for s in found]},
            column("traceService", "string", [""] * len(found), "Trace Service"),
            column("traceName", "string", [""] * len(found), "Trace Name"),
            column("spanID", "string", [s["spanId"] for s in found], "Span ID"),
            column("time", "time", [s["startMs"] for s in found], "Start time"),
            *(column(name, "string", [s["attributes"].get(name) for s in found], name) for name in names),
            column("duration", "number", [s["durationNs"] for s in found], "Duration", unit="ns"),
        ],
    }


def rows(table: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    for index in range(len(table[sessions.SESSION])):
        yield {title: values[index] for title, values in table.items()}


def expected(report: Report) -> dict[str, dict[str, Any]]:
    return {
        session.session_id: {
            sessions.SERVICES: len(session.services),
            sessions.TRACES: len(session.trace_ids),
            sessions.RUNS: len(session.runs),
            sessions.TASKS: len(session.tasks),
            sessions.RESPONSES: len({response_id for _, response_id, _ in session.responses}),
            sessions.ERRORS: len(session.errors),
        }
        for session in report.sessions
    }


def table_of(query: str, transformations: Sequence[Any], spans: Sequence[SpanRecord]) -> dict[str, list[Any]]:
    """A table panel's rows as Grafana would show them: Tempo's answer, then the panel's transformations."""
    encoded = json.loads(JSONEncoder().encode(list(transformations)))
    found = search(query, spans)
    frames = run_node("grafana-transform.cjs", {"transformations": encoded, "frames": [tempo_span_frame(found)]})
    if not found:  # Tempo found no span: the frame has no attribute column to group by, Grafana shows "No data"
        assert not any(field["values"] for out in frames["frames"] for field in out["fields"])
        return {}
    (out,) = frames["frames"]
    return {field["displayName"]: field["values"] for field in out["fields"]}


def test_the_sessions_table_of_the_demo_matches_the_sessions_report(demo_spans: Path) -> None:
    spans = list(read_spans([demo_spans]))
    table = table_of(sessions.SESSIONS_QUERY, sessions.sessions_table_transformations(), spans)
    shown = {row[sessions.SESSION]: {k: v for k, v in row.items() if k in COUNTS} for row in rows(table)}

    want = expected(build_report([demo_spans]))
    assert len(want) >= 3, want
    assert shown == want
    # The demo has what the table is for: A2A tasks, responses and errors in some session.
    assert any(values[sessions.TASKS] and values[sessions.ERRORS] for values in shown.values()), shown
    last_seen = table[sessions.LAST_SEEN]
    assert last_seen == sorted(last_seen, reverse=True)


def test_the_session_detail_of_each_demo_session_matches_the_sessions_report(demo_spans: Path) -> None:
    spans = list(read_spans([demo_spans]))
    with_workflows = 0
    for session in build_report([demo_spans]).sessions:

        def query(text: str, session_id: str = session.session_id) -> str:
            return text.replace(f"${session_detail.VARIABLE}", session_id)

        runs = search(query(session_detail.RUNS_QUERY), spans)
        assert {span["attributes"][attr.RUN_ID] for span in runs} == {run_id for run_id, _ in session.runs}
        tasks = table_of(query(session_detail.TASKS_QUERY), session_detail.tasks_table_transformations(), spans)
        last_states = dict(
            zip(tasks.get(session_detail.TASK, []), tasks.get(session_detail.LAST_STATE, []), strict=True)
        )
        assert last_states == {task.task_id: task.final_state for task in session.tasks}, session.session_id
        errors = search(query(session_detail.ERRORS_QUERY), spans)
        assert len(errors) == len(session.errors)
        responses = search(query(session_detail.RESPONSES_QUERY), spans)
        response_ids = {s["attributes"].get(attr.GEN_AI_RESPONSE_ID) for s in responses} - {None}
        assert response_ids == {response_id for _, response_id, _ in session.responses}
        calls = search(query(session_detail.A2A_CALLS_QUERY), spans)
        assert {s["attributes"]["kind"] for s in calls} == ({"client", "server"} if session.tasks else set())
        steps = search(query(session_detail.WORKFLOWS_QUERY), spans)
        shown = {
            name: Counter(s["attributes"][name] for s in steps if name in s["attributes"])
            for name in (_names.WORKFLOW_NAME, _names.EXECUTOR_ID)
        }
        reported = {_names.WORKFLOW_NAME: Counter(), _names.EXECUTOR_ID: Counter()}
        for _, workflow, count in session.workflow_runs:
            reported[_names.WORKFLOW_NAME][workflow] += count
        for _, executor_id, count in session.executors:
            reported[_names.EXECUTOR_ID][executor_id] += count
        assert shown == reported, session.session_id
        assert len(steps) == session.workflow_run_count + sum(count for _, _, count in session.executors)
        with_workflows += bool(session.workflow_runs)
    assert with_workflows == 1  # the demo's grand-tour session runs its pipeline


def test_the_failing_tasks_table_lists_the_demos_failed_and_cancelled_tasks(demo_spans: Path) -> None:
    spans = list(read_spans([demo_spans]))
    failing = {
        task.task_id: session.session_id
        for session in build_report([demo_spans]).sessions
        for task in session.tasks
        if task.final_state in ("TASK_STATE_FAILED", "TASK_STATE_REJECTED", "TASK_STATE_CANCELED")
    }
    assert len(failing) >= 2, failing  # the demo fails one task and cancels another
    found = search(a2a.FAILED_TASKS_QUERY, spans)
    listed = {s["attributes"][attr.A2A_TASK_ID]: s["attributes"][attr.SESSION_ID] for s in found}
    assert listed == failing
