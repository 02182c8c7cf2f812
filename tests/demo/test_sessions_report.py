"""The sessions report, from OTLP/JSON lines written here span by span (times and kinds under control).

The workflow counts are also checked on real spans: the demo's own pipeline run in this process.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_identity import attributes as attr
from otel_identity import session_scope
from otel_identity_demo.concierge import itinerary_pipeline
from otel_identity_demo.otlp_json import encode_line
from otel_identity_demo.script import ITINERARY_DEFAULT, PIPELINE, PIPELINE_PARTICIPANTS, itinerary_rules
from otel_identity_demo.sessions_report import build_report, render_text
from otel_identity_testing.scripted_chat import ScriptedChatClient

SERVER, CLIENT, INTERNAL = 2, 3, 1
T0 = 1_700_000_000_000_000_000


def tid(name: str) -> str:
    """A hex trace id for a readable name."""
    return hashlib.md5(name.encode()).hexdigest()


def sid(name: str) -> str:
    return hashlib.md5(name.encode()).hexdigest()[:16]


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_value(item) for item in value]}}
    return {"stringValue": value}


def _attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in values.items()]


def span(
    trace: str,
    span_id: str,
    name: str,
    *,
    parent: str = "",
    kind: int = INTERNAL,
    start: int = 0,
    end: int = 10,
    error: bool = False,
    events: list[tuple[int, str, str]] = (),  # type: ignore[assignment]
    **attributes: Any,
) -> dict[str, Any]:
    """An OTLP/JSON span; times in ms after T0; events as (ms, task id, state)."""
    return {
        "traceId": tid(trace),
        "spanId": sid(span_id),
        "parentSpanId": sid(parent) if parent else "",
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(T0 + start * 1_000_000),
        "endTimeUnixNano": str(T0 + end * 1_000_000),
        "attributes": _attrs({key.replace("__", "."): value for key, value in attributes.items()}),
        "events": [
            {
                "name": attr.TASK_STATE_CHANGE_EVENT,
                "timeUnixNano": str(T0 + at * 1_000_000),
                "attributes": _attrs({attr.A2A_TASK_ID: task, attr.A2A_TASK_STATE: state}),
            }
            for at, task, state in events
        ],
        "status": {"code": 2, "message": "boom"} if error else {},
    }


def line(service: str, *spans: dict[str, Any]) -> str:
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": _attrs({"service.name": service})},
                    "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}],
                }
            ]
        }
    )


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(item + "\n" for item in lines))
    return path


S = {attr.SESSION_ID: "s1"}


def test_a_session_is_its_traces_across_services(tmp_path: Path) -> None:
    file = write(
        tmp_path / "a.jsonl",
        # Server side first: files from several processes arrive in any order.
        line(
            "flights",
            span("t1", "b1", "SendMessage", parent="a2", kind=SERVER, start=2, end=8, **S, **{attr.A2A_TASK_ID: "k1"}),
            # No session.id on this one (e.g. a library span outside the scope): it still belongs to t1.
            span("t1", "b2", "db query", parent="b1", start=3, end=4, error=True, **{attr.RUN_ID: "r-f"}),
        ),
        line(
            "concierge",
            span("t1", "a1", "concierge turn", kind=SERVER, start=0, end=10, **S),
            span("t1", "a2", "invoke_agent c", parent="a1", start=1, end=9, **S, **{attr.RUN_ID: "r-c"}),
            span("t2", "c1", "concierge turn", kind=SERVER, start=20, end=25, **S),
            span("t2", "c2", "chat m", parent="c1", start=21, end=24, **S, **{attr.GEN_AI_RESPONSE_ID: "resp_1"}),
            span("t3", "d1", "other session turn", start=30, end=40, **{attr.SESSION_ID: "s2"}),
            span("t4", "e1", "startup", start=0, end=1),
        ),
    )

    report = build_report([file])

    assert [session.session_id for session in report.sessions] == ["s1", "s2"]
    s1 = report.sessions[0]
    assert s1.services == ("concierge", "flights")
    assert s1.trace_ids == (tid("t1"), tid("t2"))
    assert s1.span_count == 6
    assert s1.start_unix_nano == T0 and s1.duration_seconds == 0.025
    assert dict(s1.runs) == {"r-c": ("concierge",), "r-f": ("flights",)}
    assert [task.task_id for task in s1.tasks] == ["k1"]
    assert s1.responses == (("concierge", "resp_1", 1),)
    assert [(error["service"], error["span"], error["message"]) for error in s1.errors] == [
        ("flights", "db query", "boom")
    ]
    assert report.sessions[1].span_count == 1 and not report.sessions[1].errors
    assert (report.span_count, report.spans_outside_sessions, report.traces_outside_sessions) == (8, 1, 1)


def test_task_history_is_the_serving_sides_and_repeats_collapse(tmp_path: Path) -> None:
    server_events = [
        (2, "k1", "TASK_STATE_SUBMITTED"),
        (3, "k1", "TASK_STATE_WORKING"),
        (4, "k1", "TASK_STATE_INPUT_REQUIRED"),
    ]
    # The client sees the same states later, as they arrive: mixing both would repeat them.
    client_events = [
        (6, "k1", "TASK_STATE_SUBMITTED"),
        (7, "k1", "TASK_STATE_WORKING"),
        (8, "k1", "TASK_STATE_INPUT_REQUIRED"),
    ]
    resumed = [(12, "k1", "TASK_STATE_WORKING"), (13, "k1", "TASK_STATE_COMPLETED")]
    task = {attr.A2A_TASK_ID: "k1"}
    file = write(
        tmp_path / "a.jsonl",
        line(
            "c",
            span("t1", "a1", "turn", start=0, end=10, **S),
            span(
                "t1", "a2", "SendMessage", parent="a1", kind=CLIENT, start=1, end=9, events=client_events, **S, **task
            ),
            span(
                "t2",
                "b1",
                "SendMessage",
                kind=CLIENT,
                start=10,
                end=15,
                events=[(14, "k1", "TASK_STATE_COMPLETED")],
                **S,
                **task,
            ),
        ),
        line(
            "h",
            span(
                "t1", "a3", "SendMessage", parent="a2", kind=SERVER, start=2, end=5, events=server_events, **S, **task
            ),
            # Stamped at start by the scope, no events: observed at its start.
            span(
                "t1",
                "a4",
                "agent work",
                parent="a3",
                start=3,
                end=4,
                **S,
                **task,
                **{attr.A2A_TASK_STATE: "TASK_STATE_WORKING"},
            ),
            span("t2", "b2", "SendMessage", parent="b1", kind=SERVER, start=11, end=14, events=resumed, **S, **task),
        ),
    )

    (task_summary,) = build_report([file]).sessions[0].tasks

    assert task_summary.server == "h"
    assert task_summary.services == ("c", "h")
    assert task_summary.states == (
        "TASK_STATE_SUBMITTED",
        "TASK_STATE_WORKING",
        "TASK_STATE_INPUT_REQUIRED",
        "TASK_STATE_WORKING",
        "TASK_STATE_COMPLETED",
    )
    assert task_summary.final_state == "TASK_STATE_COMPLETED"


def test_a_task_seen_only_by_its_client_uses_the_clients_states(tmp_path: Path) -> None:
    events = [(1, "k9", "TASK_STATE_SUBMITTED"), (2, "k9", "TASK_STATE_FAILED")]
    file = write(
        tmp_path / "a.jsonl",
        line("c", span("t1", "a1", "SendMessage", kind=CLIENT, events=events, **S, **{attr.A2A_TASK_ID: "k9"})),
    )
    (task,) = build_report([file]).sessions[0].tasks
    assert (task.server, task.states) == (None, ("TASK_STATE_SUBMITTED", "TASK_STATE_FAILED"))


def test_collector_variants_blank_and_bad_lines(tmp_path: Path) -> None:
    trace_id = bytes(range(16))
    variant = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                # The plain protobuf JSON mapping: base64 ids and enum names.
                                "traceId": base64.b64encode(trace_id).decode(),
                                "spanId": base64.b64encode(bytes(8)).decode(),
                                "name": "root",
                                "kind": "SPAN_KIND_SERVER",
                                "startTimeUnixNano": T0,
                                "endTimeUnixNano": T0 + 5,
                                "attributes": [{"key": "session.id", "value": {"stringValue": "s1"}}],
                                "status": {"code": "STATUS_CODE_ERROR"},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    file = write(tmp_path / "a.jsonl", json.dumps(variant), "", "not json", "[1, 2]")

    report = build_report([file])

    (session,) = report.sessions
    assert session.trace_ids == (trace_id.hex(),)
    assert len(session.errors) == 1
    assert (report.lines, report.bad_lines) == (3, 2)


def test_files_are_read_line_by_line(tmp_path: Path) -> None:
    file = write(
        tmp_path / "a.jsonl",
        *(line("c", span(f"t{index}", "a1", "turn", **{attr.SESSION_ID: f"s{index % 7}"})) for index in range(500)),
    )
    seen: list[int] = []

    report = build_report([file], progress=seen.append)

    assert len(seen) == 500 and seen == sorted(set(seen)) and seen[-1] == file.stat().st_size
    assert len(report.sessions) == 7 and sum(len(s.trace_ids) for s in report.sessions) == 500


def test_text_and_json_say_the_same(tmp_path: Path) -> None:
    events = [(2, "k1", "TASK_STATE_WORKING"), (3, "k1", "TASK_STATE_CANCELED")]
    file = write(
        tmp_path / "a.jsonl",
        line(
            "c",
            span("t1", "a1", "turn", **S, **{attr.RUN_ID: "r1"}),
            span("t1", "a2", "CancelTask", parent="a1", kind=SERVER, events=events, **S, **{attr.A2A_TASK_ID: "k1"}),
            span("t1", "a3", "chat", parent="a1", error=True, **S, **{attr.GEN_AI_RESPONSE_ID: "resp_9"}),
        ),
    )
    report = build_report([file])
    text = render_text(report)
    data = report.to_json()

    assert "session s1" in text and "k1  c: WORKING -> CANCELED" in text and "resp_9" in text and "r1" in text
    assert "c: chat: boom" in text
    (session,) = data["sessions"]
    assert session["tasks"] == [
        {
            "task_id": "k1",
            "services": ["c"],
            "server": "c",
            "states": ["TASK_STATE_WORKING", "TASK_STATE_CANCELED"],
            "final_state": "TASK_STATE_CANCELED",
        }
    ]
    assert session["runs"] == [{"run_id": "r1", "services": ["c"]}]
    assert session["responses"] == [{"service": "c", "response_id": "resp_9", "spans": 1}]
    assert session["errors"][0]["message"] == "boom"
    assert session["start"] == "2023-11-14T22:13:20.000Z"
    json.dumps(data)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otel_identity_demo.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_sessions_command(tmp_path: Path) -> None:
    file = write(tmp_path / "a.jsonl", line("c", span("t1", "a1", "turn", **S)))

    as_json = _cli("sessions", str(file), "--json")
    as_text = _cli("sessions", str(file))
    missing = _cli("sessions", str(tmp_path / "nope.jsonl"))

    assert as_json.returncode == 0 and json.loads(as_json.stdout)["sessions"][0]["session_id"] == "s1"
    assert as_text.returncode == 0 and as_text.stdout.startswith("session s1\n")
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [
        f"otel-identity sessions: cannot read {tmp_path / 'nope.jsonl'}: no such file"
    ]


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ("", "it is empty"),
        ('not json at all\n{"resourceSpans": 3}\n', "it has 2 lines and none is an OTLP/JSON export request"),
    ],
    ids=["empty", "garbage"],
)
def test_a_file_without_otlp_json_is_an_error(tmp_path: Path, content: str, found: str) -> None:
    file = tmp_path / "x.jsonl"
    file.write_text(content)

    done = _cli("sessions", str(file))

    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"otel-identity sessions: no OTLP/JSON in {file}: {found} (one ExportTraceServiceRequest per line)"
    ]


def test_a_truncated_line_is_reported_and_the_rest_is_read(tmp_path: Path) -> None:
    good = line("c", span("t1", "a1", "turn", **S))
    file = tmp_path / "cut.jsonl"
    file.write_text(good + "\n" + good[: len(good) // 2])  # the writer was killed mid-line

    done = _cli("sessions", str(file))

    assert done.returncode == 0
    assert done.stdout.startswith("session s1\n")
    assert done.stderr.strip() == "otel-identity sessions: skipped 1 of 2 lines that are not OTLP/JSON"


def test_dash_reads_standard_input(tmp_path: Path) -> None:
    content = line("c", span("t1", "a1", "turn", **S)) + "\n"

    piped = subprocess.run(
        [sys.executable, "-m", "otel_identity_demo", "sessions", "-", "--json"],
        input=content,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    nothing = subprocess.run(
        [sys.executable, "-m", "otel_identity_demo", "sessions", "-"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert piped.returncode == 0, piped.stderr
    assert [session["session_id"] for session in json.loads(piped.stdout)["sessions"]] == ["s1"]
    assert nothing.returncode == 2
    assert nothing.stderr.strip() == (
        "otel-identity sessions: no OTLP/JSON in standard input: it is empty (one ExportTraceServiceRequest per line)"
    )


def test_responses_sort_by_number_and_say_what_a_repeat_means(tmp_path: Path) -> None:
    spans = [
        span("t1", f"a{index}", "chat", start=index, **S, gen_ai__response__id=f"resp_{number}")
        for index, number in enumerate([17, 1, 10, 2, 17])
    ]
    text = render_text(build_report([write(tmp_path / "r.jsonl", line("c", *spans))]))

    assert "  responses  c: resp_1, resp_2, resp_10, resp_17 (on 2 spans)" in text.splitlines()


def test_workflow_runs_and_executors_are_counted_per_session(tmp_path: Path) -> None:
    run = {"workflow.name": "itinerary"}
    file = write(
        tmp_path / "w.jsonl",
        line(
            "c",
            span("t1", "a1", "turn", start=0, end=20, **S),
            # Without session.id (a library span outside the scope), in the session's trace: still the session's.
            span("t1", "a2", "workflow.run", parent="a1", start=1, end=19, **run),
            span("t1", "a4", "executor.process reviewer", parent="a2", start=9, **S, executor__id="reviewer"),
            span("t1", "a3", "executor.process planner", parent="a2", start=2, **S, executor__id="planner"),
            span("t2", "b1", "turn", start=30, end=50, **S),
            span("t2", "b2", "workflow.run", parent="b1", start=31, end=49, **S, **run),
            span("t2", "b3", "executor.process planner", parent="b2", start=32, **S, executor__id="planner"),
            span("t2", "b4", "executor.process", parent="b2", start=33, **S),  # no executor.id: by its name
            span("t3", "c1", "workflow.run", start=60, end=70),  # outside every session
        ),
        line("d", span("t1", "d1", "workflow.run", parent="a1", start=3, end=5, **S)),  # unnamed, another service
    )

    report = build_report([file])
    (session,) = report.sessions
    text = render_text(report).splitlines()
    data = report.to_json()["sessions"][0]

    assert session.workflow_runs == (("c", "itinerary", 2), ("d", "(unnamed)", 1)) and session.workflow_run_count == 3
    # In the order they first ran, not by name.
    assert session.executors == (("c", "planner", 2), ("c", "reviewer", 1), ("c", "(unnamed)", 1))
    assert "  workflows  c: itinerary (2 runs)" in text and "             d: (unnamed) (1 run)" in text
    assert "  executors  c: planner (2 messages), reviewer (1 message), (unnamed) (1 message)" in text
    assert any(item.startswith("  counts ") and item.endswith(", 3 workflow runs") for item in text)
    assert data["workflow_runs"] == [
        {"service": "c", "workflow": "itinerary", "runs": 2},
        {"service": "d", "workflow": "(unnamed)", "runs": 1},
    ]
    assert data["executors"] == [
        {"service": "c", "executor_id": "planner", "messages": 2},
        {"service": "c", "executor_id": "reviewer", "messages": 1},
        {"service": "c", "executor_id": "(unnamed)", "messages": 1},
    ]
    assert (report.spans_outside_sessions, report.traces_outside_sessions) == (1, 1)


@pytest.mark.usefixtures("instrumentor", "framework_telemetry")
async def test_the_demos_pipeline_as_the_report_sees_it(
    tmp_path: Path, spans: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    """The demo's own Sequential pipeline, run for real (two sessions at once): the names agent-framework writes."""
    client = ScriptedChatClient(mode="local", rules=itinerary_rules(), default_answer=ITINERARY_DEFAULT)

    async def converse(session: str, *texts: str) -> None:
        with session_scope(session):  # as in the demo, where the concierge's turn is in the session's scope
            pipeline = itinerary_pipeline(client)
            agent_session = pipeline.create_session(session_id=session)
            for text in texts:
                await pipeline.run(text, session=agent_session)

    await asyncio.gather(
        converse("tour-a", "Plan a trip to Paris and Rome", "Make the trip Rome first, then Paris"),
        converse("tour-b", "Plan a trip to Lisbon"),
    )
    file = tmp_path / "pipeline.jsonl"
    file.write_bytes(encode_line(spans.get_finished_spans()))

    report = build_report([file])
    service = str(tracer_provider.resource.attributes["service.name"])
    by_session = {session.session_id: session for session in report.sessions}

    assert set(by_session) == {"tour-a", "tour-b"} and report.spans_outside_sessions == 0
    for session_id, turns in (("tour-a", 2), ("tour-b", 1)):
        session = by_session[session_id]
        assert session.workflow_runs == ((service, PIPELINE, turns),)
        assert session.executors == tuple(
            (service, executor_id, turns) for executor_id in ("input-conversation", *PIPELINE_PARTICIPANTS)
        )
    text = render_text(report).splitlines()
    assert f"  workflows  {service}: {PIPELINE} (2 runs)" in text
    assert f"  executors  {service}: input-conversation (1 message), planner (1 message), reviewer (1 message)" in text
