"""``otel-identity demo`` end to end: three real processes, real A2A over HTTP, the exported file checked span by span.

The demo runs once for the module (a few seconds). Every check reads the raw OTLP/JSON file
(:mod:`demo_files`, which shares no code with the report) and compares with the script of
:mod:`otel_identity_demo.script` and with the report the demo printed.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from demo_files import CLIENT, ERROR, SERVER, DemoRun, RawSpan, below, load, run_demo

from otel_identity import attributes as attr
from otel_identity_demo.script import CONVERSATIONS, PIPELINE, PIPELINE_PARTICIPANTS, session_id

TAG = "e2e"
A2A_METHODS = ("SendMessage", "SendStreamingMessage", "CancelTask")
EXPECTED_SERVICES = {
    "paris-trip": {"concierge", "flights", "hotels"},
    "rome-weekend": {"concierge", "flights", "hotels"},
    "atlantis": {"concierge", "flights"},
    "tokyo-search": {"concierge", "flights", "hotels"},
    "grand-tour": {"concierge"},  # the Sequential pipeline runs in the concierge's process
}
WORKFLOW_SPANS = ("workflow.run", "executor.process", "message.send", "edge_group.process")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    output = tmp_path_factory.mktemp("demo") / "spans.jsonl"
    run = run_demo(output, TAG, "--json")
    assert run.returncode == 0, run.stderr
    run.spans = load(output)
    yield run


@pytest.fixture(scope="module")
def spans(demo: DemoRun) -> list[RawSpan]:
    return demo.spans


def sessions() -> dict[str, Any]:
    return {session_id(conversation, TAG): conversation for conversation in CONVERSATIONS}


def by_trace(spans: list[RawSpan]) -> dict[str, list[RawSpan]]:
    traces: dict[str, list[RawSpan]] = {}
    for span in spans:
        traces.setdefault(span.trace, []).append(span)
    return traces


def turn(spans: list[RawSpan], session: str, index: int) -> list[RawSpan]:
    """The spans of turn ``index`` (1-based) of ``session``."""
    for members in by_trace(spans).values():
        roots = [span for span in members if not span.parent]
        root = roots[0].attributes if roots else {}
        if root.get(attr.SESSION_ID) == session and root.get("otel_identity.demo.turn") == index:
            return members
    raise AssertionError(f"no trace for turn {index} of {session}")


def a2a(spans: list[RawSpan], kind: int, method: str | None = None) -> list[RawSpan]:
    names = (method,) if method else A2A_METHODS
    return sorted((s for s in spans if s.name in names and s.kind == kind), key=lambda s: s.start)


def test_the_demo_is_fast_and_shows_progress(demo: DemoRun) -> None:
    turns = sum(len(conversation.turns) for conversation in CONVERSATIONS)
    progress = [line for line in demo.stderr.splitlines() if line.lstrip().startswith("[")]
    assert len(progress) == turns, demo.stderr
    assert "ready at http://127.0.0.1:" in demo.stderr
    assert demo.seconds < 60, f"the demo took {demo.seconds:.1f} s"
    lines = demo.output.read_text().splitlines()
    assert lines and {key for line in lines for key in json.loads(line)} == {"resourceSpans", "resourceLogs"}


def test_each_turn_is_one_trace_whose_every_span_carries_the_session(spans: list[RawSpan]) -> None:
    expected = sessions()
    traces = by_trace(spans)
    per_session: Counter[str] = Counter()
    services: dict[str, set[str]] = {}
    for trace_id, members in traces.items():
        (root,) = [span for span in members if not span.parent]
        assert (root.name, root.service, root.kind) == ("concierge turn", "concierge", SERVER), trace_id
        session = root.attributes[attr.SESSION_ID]
        assert session in expected
        # Concierge, flights and hotels spans alike: the one session of the conversation.
        assert {span.attributes.get(attr.SESSION_ID) for span in members} == {session}, trace_id
        per_session[session] += 1
        services.setdefault(session, set()).update(span.service for span in members)
    assert per_session == {name: len(conversation.turns) for name, conversation in expected.items()}
    assert services == {session_id(c, TAG): EXPECTED_SERVICES[c.name] for c in CONVERSATIONS}


def test_task_ids_are_on_task_spans_only(spans: list[RawSpan]) -> None:
    for span in a2a(spans, CLIENT) + a2a(spans, SERVER):
        assert span.attributes.get(attr.A2A_TASK_ID), (span.service, span.name)
    for server in a2a(spans, SERVER):
        for span in below(spans, server)[1:]:
            assert span.attributes[attr.A2A_TASK_ID] == server.attributes[attr.A2A_TASK_ID], span.name
    # The concierge's own work (its turns, runs, model calls, tools) is not in any task.
    for span in spans:
        if span.service == "concierge" and span.name.startswith(
            ("concierge turn", "invoke_agent concierge", "chat", "execute_tool")
        ):
            assert attr.A2A_TASK_ID not in span.attributes, span.name


def _final_state(span: RawSpan) -> str:
    states = [event[2][attr.A2A_TASK_STATE] for event in span.events if event[0] == attr.TASK_STATE_CHANGE_EVENT]
    return states[-1] if states else span.attributes[attr.A2A_TASK_STATE]


def test_the_scripted_task_stories_happened(spans: list[RawSpan]) -> None:
    paris, atlantis, tokyo = (
        session_id(c, TAG) for c in CONVERSATIONS if c.name in ("paris-trip", "atlantis", "tokyo-search")
    )
    # A flight, then a hotel task that waits for input and is continued in the next turn.
    (first_flight,) = a2a(turn(spans, paris, 1), CLIENT, "SendMessage")
    (asked,) = a2a(turn(spans, paris, 2), CLIENT, "SendStreamingMessage")
    (answered,) = a2a(turn(spans, paris, 3), CLIENT, "SendStreamingMessage")
    assert _final_state(asked) == "TASK_STATE_INPUT_REQUIRED"
    assert _final_state(answered) == "TASK_STATE_COMPLETED"
    assert answered.attributes[attr.A2A_TASK_ID] == asked.attributes[attr.A2A_TASK_ID]
    # The follow-up refers to the earlier flight task: as sent, on its request only.
    (changed,) = a2a(turn(spans, paris, 4), CLIENT, "SendMessage")
    assert changed.attributes[attr.A2A_REFERENCE_TASK_IDS] == [first_flight.attributes[attr.A2A_TASK_ID]]
    assert attr.A2A_REFERENCE_TASK_IDS not in first_flight.attributes
    assert changed.attributes[attr.A2A_TASK_ID] != first_flight.attributes[attr.A2A_TASK_ID]
    # A failing task: ERROR on both sides and on the model call that raised.
    (failed_client,) = a2a(turn(spans, atlantis, 1), CLIENT, "SendMessage")
    (failed_server,) = a2a(turn(spans, atlantis, 1), SERVER, "SendMessage")
    for span in (failed_client, failed_server):
        assert _final_state(span) == "TASK_STATE_FAILED" and span.status == ERROR
    assert any(s.name.startswith("chat") and s.status == ERROR for s in below(spans, failed_server))
    (after_failure,) = a2a(turn(spans, atlantis, 2), CLIENT, "SendMessage")
    assert after_failure.attributes[attr.A2A_REFERENCE_TASK_IDS] == [failed_client.attributes[attr.A2A_TASK_ID]]
    # A background task, cancelled in the next turn: CANCELED is an outcome, not an error.
    (started,) = a2a(turn(spans, tokyo, 1), CLIENT, "SendMessage")
    cancels = a2a(turn(spans, tokyo, 2), CLIENT, "CancelTask") + a2a(turn(spans, tokyo, 2), SERVER, "CancelTask")
    assert len(cancels) == 2
    for span in cancels:
        assert span.attributes[attr.A2A_TASK_ID] == started.attributes[attr.A2A_TASK_ID]
        assert _final_state(span) == "TASK_STATE_CANCELED" and span.status != ERROR
    # Streams: the hotels agent is called with SendStreamingMessage; a concierge turn streamed its answer.
    assert a2a(turn(spans, tokyo, 3), SERVER, "SendStreamingMessage")


def test_a_result_id_stays_on_the_spans_that_produced_it(spans: list[RawSpan]) -> None:
    by_id = {span.id: span for span in spans}
    task_ids = {span.attributes[attr.A2A_TASK_ID] for span in spans if attr.A2A_TASK_ID in span.attributes}
    carriers: dict[tuple[str, str], list[RawSpan]] = {}
    for span in spans:
        if attr.GEN_AI_RESPONSE_ID in span.attributes:
            carriers.setdefault((span.service, span.attributes[attr.GEN_AI_RESPONSE_ID]), []).append(span)
    assert carriers
    for (service, response_id), holders in carriers.items():
        assert response_id not in task_ids, f"{service}: a task id recorded as a response id ({response_id})"
        assert len({span.trace for span in holders}) == 1, f"{service}: {response_id} in several traces"
        for span in holders:
            assert span.attributes.get(attr.GEN_AI_OPERATION_NAME) in ("chat", "invoke_agent"), span.name
        # The model call that produced it and the run that returned it: one chain, nothing else.
        holders.sort(key=lambda span: span.start)
        for outer, inner in itertools.pairwise(holders):
            ancestors = set()
            cursor = by_id.get(inner.parent)
            while cursor is not None:
                ancestors.add(cursor.id)
                cursor = by_id.get(cursor.parent)
            assert outer.id in ancestors, (service, response_id)
    messages: dict[str, list[RawSpan]] = {}
    for span in spans:
        if attr.A2A_MESSAGE_ID in span.attributes:
            messages.setdefault(span.attributes[attr.A2A_MESSAGE_ID], []).append(span)
    for message_id, holders in messages.items():
        assert len(holders) <= 2 and len({span.trace for span in holders}) == 1, message_id


def test_a_run_id_stays_in_its_run_and_its_process(spans: list[RawSpan]) -> None:
    by_id = {span.id: span for span in spans}
    runs: dict[str, list[RawSpan]] = {}
    for span in spans:
        if attr.RUN_ID in span.attributes:
            runs.setdefault(span.attributes[attr.RUN_ID], []).append(span)
        if not span.parent:
            assert attr.RUN_ID not in span.attributes, "a turn is not a run"
    assert len(runs) >= sum(len(conversation.turns) for conversation in CONVERSATIONS)
    for run_id, members in runs.items():
        assert len({span.service for span in members}) == 1, f"run {run_id} crossed services"
        tops = [span for span in members if by_id[span.parent].attributes.get(attr.RUN_ID) != run_id]
        assert len(tops) == 1, run_id
        (top,) = tops
        assert top.name.startswith("invoke_agent"), top.name
        inside = {span.id for span in below(spans, top)}
        assert {span.id for span in members} <= inside, f"run {run_id} outside its run span"


def test_the_pipeline_turns_are_nested_in_the_concierge_run_and_its_conversation(spans: list[RawSpan]) -> None:
    tour = session_id(next(c for c in CONVERSATIONS if c.name == "grand-tour"), TAG)
    turns = [turn(spans, tour, index) for index in (1, 2)]
    # Every workflow span of the session is in one of its pipeline turns.
    workflow_traces = {
        s.trace for s in spans if s.name.startswith(WORKFLOW_SPANS) and s.attributes.get(attr.SESSION_ID) == tour
    }
    assert workflow_traces == {members[0].trace for members in turns}
    conversations: set[str] = set()
    participant_sessions: list[dict[str, str]] = []
    for members in turns:
        (concierge_run,) = [s for s in members if s.name == "invoke_agent concierge"]
        (pipeline_run,) = [s for s in members if s.name == f"invoke_agent {PIPELINE}"]
        (workflow_run,) = [s for s in members if s.name == "workflow.run"]
        inside_concierge = {s.id for s in below(spans, concierge_run)}
        inside_pipeline = below(spans, pipeline_run)
        assert workflow_run.id in {s.id for s in inside_pipeline} and pipeline_run.id in inside_concierge
        workflow = [s for s in members if s.name.startswith(WORKFLOW_SPANS)]
        processed = sorted((s for s in workflow if s.name.startswith("executor.process")), key=lambda s: s.start)
        assert [s.attributes["executor.id"] for s in processed] == ["input-conversation", *PIPELINE_PARTICIPANTS]
        assert {name for s in workflow for name in WORKFLOW_SPANS if s.name.startswith(name)} == set(WORKFLOW_SPANS)
        participants = {s.name.removeprefix("invoke_agent "): s for s in members if s.name.startswith("invoke_agent ")}
        assert set(participants) == {"concierge", PIPELINE, *PIPELINE_PARTICIPANTS}
        concierge_run_id = concierge_run.attributes[attr.RUN_ID]
        pipeline_run_id = pipeline_run.attributes[attr.RUN_ID]
        assert pipeline_run.attributes[attr.PARENT_RUN_ID] == concierge_run_id != pipeline_run_id
        assert workflow_run.attributes[attr.RUN_ID] == pipeline_run_id  # the WorkflowAgent's run is the workflow's
        own_sessions: dict[str, str] = {}
        for name in PIPELINE_PARTICIPANTS:
            run = participants[name]
            assert run.id in inside_concierge, f"{name} is not below the concierge's run"
            assert run.attributes[attr.PARENT_RUN_ID] == pipeline_run_id
            assert run.attributes[attr.RUN_ID] not in (concierge_run_id, pipeline_run_id)
            own_sessions[name] = run.attributes[attr.AGENT_SESSION_ID]
            chats = [s for s in below(spans, run) if s.name.startswith("chat")]
            assert chats, name
            workflow += [run, *chats]
        participant_sessions.append(own_sessions)
        for span in workflow:
            assert span.trace == concierge_run.trace and span.id in inside_concierge, span.name
            assert span.attributes[attr.SESSION_ID] == tour, span.name
            conversations.add(span.attributes[attr.GEN_AI_CONVERSATION_ID])
    # One conversation across both turns (the user's, never a rotating resp_* handle); each participant keeps
    # its own AgentSession, recorded on its run span only.
    assert conversations == {tour}
    assert participant_sessions[0] == participant_sessions[1]
    assert tour not in participant_sessions[0].values()


def test_no_continuation_token_is_ever_recorded(spans: list[RawSpan]) -> None:
    tokyo = session_id(next(c for c in CONVERSATIONS if c.name == "tokyo-search"), TAG)
    (issued,) = [span for span in turn(spans, tokyo, 1) if span.attributes.get(attr.CONTINUATION_ISSUED) is True]
    assert issued.name == "invoke_agent flights" and issued.attributes[attr.A2A_TASK_ID]
    for span in spans:
        values = list(span.attributes.values()) + [v for event in span.events for v in event[2].values()]
        for value in values:
            for text in value if isinstance(value, list) else [value]:
                assert not (isinstance(text, str) and "task_id" in text and "context_id" in text), (span.name, text)


def test_the_report_matches_the_spans(demo: DemoRun, spans: list[RawSpan]) -> None:
    report = {session["session_id"]: session for session in json.loads(demo.stdout)["sessions"]}
    assert set(report) == set(sessions())
    traces = by_trace(spans)
    for session, data in report.items():
        members = [span for span in spans if span.attributes.get(attr.SESSION_ID) == session]
        trace_ids = {span.trace for span in members}
        in_traces = [span for trace_id in trace_ids for span in traces[trace_id]]
        assert set(data["trace_ids"]) == trace_ids
        assert data["span_count"] == len(in_traces)
        assert set(data["services"]) == {span.service for span in in_traces}
        assert data["start_unix_nano"] == min(span.start for span in in_traces)
        assert data["duration_seconds"] == pytest.approx(
            (max(span.end for span in in_traces) - data["start_unix_nano"]) / 1e9, abs=1e-6
        )
        runs: dict[str, set[str]] = {}
        for span in in_traces:
            if attr.RUN_ID in span.attributes:
                runs.setdefault(span.attributes[attr.RUN_ID], set()).add(span.service)
        assert {run["run_id"]: set(run["services"]) for run in data["runs"]} == runs
        tasks = {span.attributes[attr.A2A_TASK_ID] for span in in_traces if attr.A2A_TASK_ID in span.attributes}
        assert {task["task_id"] for task in data["tasks"]} == tasks
        for task in data["tasks"]:
            seen = {
                event[2][attr.A2A_TASK_STATE]
                for span in in_traces
                for event in span.events
                if event[0] == attr.TASK_STATE_CHANGE_EVENT and event[2].get(attr.A2A_TASK_ID) == task["task_id"]
            }
            assert set(task["states"]) <= seen | {"TASK_STATE_SUBMITTED", "TASK_STATE_WORKING"}
            assert task["final_state"] in seen
        responses = Counter(
            (span.service, span.attributes[attr.GEN_AI_RESPONSE_ID])
            for span in in_traces
            if attr.GEN_AI_RESPONSE_ID in span.attributes
        )
        assert {(r["service"], r["response_id"]): r["spans"] for r in data["responses"]} == dict(responses)
        errors = Counter((span.service, span.name) for span in in_traces if span.status == ERROR)
        assert Counter((error["service"], error["span"]) for error in data["errors"]) == errors
        workflow_runs = Counter(
            (span.service, span.attributes["workflow.name"]) for span in in_traces if span.name == "workflow.run"
        )
        assert {(w["service"], w["workflow"]): w["runs"] for w in data["workflow_runs"]} == dict(workflow_runs)
        executors = Counter(
            (span.service, span.attributes["executor.id"])
            for span in in_traces
            if span.name.startswith("executor.process")
        )
        assert {(e["service"], e["executor_id"]): e["messages"] for e in data["executors"]} == dict(executors)
    tour = session_id(next(c for c in CONVERSATIONS if c.name == "grand-tour"), TAG)
    assert {session: len(data["workflow_runs"]) for session, data in report.items() if data["workflow_runs"]} == {
        tour: 1
    }
    assert [e["executor_id"] for e in report[tour]["executors"]] == ["input-conversation", *PIPELINE_PARTICIPANTS]
    assert report[tour]["workflow_runs"] == [{"service": "concierge", "workflow": PIPELINE, "runs": 2}]
    finals = Counter(task["final_state"] for data in report.values() for task in data["tasks"])
    assert finals["TASK_STATE_FAILED"] == 1 and finals["TASK_STATE_CANCELED"] == 1
    histories = [task["states"] for data in report.values() for task in data["tasks"]]
    assert sum("TASK_STATE_INPUT_REQUIRED" in states for states in histories) == 1
    assert all(
        len(states) == len([s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]) for states in histories
    )


def test_no_span_is_outside_a_session(demo: DemoRun) -> None:
    data = json.loads(demo.stdout)
    assert (data["spans_outside_sessions"], data["bad_lines"]) == (0, 0)
    assert data["span_count"] == len(load(Path(demo.output)))
