"""Unfinished work: requests for information answered in a later run, and runs resumed from checkpoints.

Placed by the table (lifetime "unfinished work"): the pending request ids on the run span that
left them pending (``issued``) and on the one that answered them (``answered``); a resumed
checkpoint as a marker and its id on the resuming run's span. The answering and the resuming
runs carry the session the app gives them. No checkpoint, in memory or on disk, holds
identity baggage, even with a trusted destination in scope around the run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from agent_framework import Content, FileCheckpointStorage, InMemoryCheckpointStorage, Message
from agent_framework_orchestrations import AgentRequestInfoResponse, SequentialBuilder
from opentelemetry import baggage
from opentelemetry import context as context_api
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wf_support import (
    assert_no_identity,
    assert_one_conversation,
    attrs,
    checkpoint_text,
    files_text,
    planner_and_reviewer,
    roots,
    run_tree,
    sequential,
    trace_contexts,
)

import otel_identity
from otel_identity import attributes as attr

pytestmark = pytest.mark.usefixtures("instrumentor", "framework_telemetry")

SESSIONS = ("session-a", "session-b")
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])


def reviewed_pipeline(**kwargs: Any) -> Any:
    """Sequential with a human review after the planner (the orchestration runs it as a sub-workflow)."""
    planner, reviewer = planner_and_reviewer()
    return SequentialBuilder(participants=[planner, reviewer], **kwargs).with_request_info(agents=[planner]).build()


async def run_workflow(workflow: Any, message: Any = None, *, stream: bool, **kwargs: Any) -> Any:
    if not stream:
        return await workflow.run(message, **kwargs)
    events = workflow.run(message, stream=True, **kwargs)
    async for _ in events:
        pass
    return await events.get_final_response()


def outer_run(spans: InMemorySpanExporter, session: str, index: int) -> Any:
    """The ``index``-th outer ``workflow.run`` span of ``session`` (by start time)."""
    runs = sorted(
        (run for run in roots(spans.get_finished_spans(), "workflow.run") if attrs(run)[attr.SESSION_ID] == session),
        key=lambda span: span.start_time or 0,
    )
    return runs[index]


@STREAM
async def test_pending_requests_issued_then_answered_in_the_same_session(
    spans: InMemorySpanExporter, stream: bool
) -> None:
    workflows = {session: reviewed_pipeline() for session in SESSIONS}

    async def review(session: str) -> tuple[list[str], Any]:
        with otel_identity.session_scope(session):
            first = await run_workflow(workflows[session], "plan a trip to Lisbon", stream=stream)
        asked = [event.request_id for event in first.get_request_info_events()]
        with otel_identity.session_scope(session):  # the answer arrives later, in the same session
            answers = {request_id: AgentRequestInfoResponse.approve() for request_id in asked}
            second = await run_workflow(workflows[session], responses=answers, stream=stream)
        return asked, second

    results = await asyncio.gather(*(review(session) for session in SESSIONS))

    finished = spans.get_finished_spans()
    for session, (asked, second) in zip(SESSIONS, results, strict=True):
        assert len(asked) == 1 and second.get_outputs()
        issuing, answering = outer_run(spans, session, 0), outer_run(spans, session, 1)
        assert attrs(issuing)[attr.PENDING_REQUESTS_ISSUED] == tuple(asked)
        assert attr.PENDING_REQUESTS_ANSWERED not in attrs(issuing)
        assert attrs(answering)[attr.PENDING_REQUESTS_ANSWERED] == tuple(asked)
        assert attr.PENDING_REQUESTS_ISSUED not in attrs(answering)
        assert attrs(issuing)[attr.RUN_ID] != attrs(answering)[attr.RUN_ID]
        for run in (issuing, answering):
            assert_one_conversation(run_tree(finished, run), session_id=session, conversation_id=session)


@STREAM
async def test_workflow_agent_answers_its_pending_request_in_the_next_turn(
    spans: InMemorySpanExporter, stream: bool
) -> None:
    agent = reviewed_pipeline().as_agent("reviewed")

    async def turn(message: Any) -> Any:
        # No AgentSession: with one, agent-framework 1.23 replays the session's history into the answer turn and
        # rejects it (only function results may answer a pending request). The app's session scope is the session.
        with otel_identity.session_scope("session-a"):
            if not stream:
                return await agent.run(message)
            updates = agent.run(message, stream=True)
            async for _ in updates:
                pass
            return await updates.get_final_response()

    first = await turn("plan a trip to Lisbon")
    calls = [content for message in first.messages for content in message.contents if content.type == "function_call"]
    assert [call.name for call in calls] == ["request_info"]
    # The typed answer itself (``Content.from_function_result`` would serialize it to a string the workflow rejects).
    answer = Content("function_result", call_id=calls[0].call_id, result=AgentRequestInfoResponse.approve())
    await turn(Message(role="tool", contents=[answer]))

    finished = spans.get_finished_spans()
    runs = sorted(roots(finished, "invoke_agent reviewed"), key=lambda span: span.start_time or 0)
    assert len(runs) == 2
    assert attrs(runs[0])[attr.PENDING_REQUESTS_ISSUED] == (calls[0].call_id,)
    assert attrs(runs[1])[attr.PENDING_REQUESTS_ANSWERED] == (calls[0].call_id,)
    assert attr.PENDING_REQUESTS_ISSUED not in attrs(runs[1])
    for run in runs:
        assert_one_conversation(run_tree(finished, run), session_id="session-a", conversation_id="session-a")


@pytest.fixture(params=["memory", "file"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        return InMemoryCheckpointStorage()
    return FileCheckpointStorage(tmp_path / "checkpoints")


async def stored(storage: Any, workflow: Any) -> tuple[str, list[dict[str, str]]]:
    """What the storage holds for ``workflow`` (the files themselves for file storage), and the trace contexts."""
    checkpoints = await storage.list_checkpoints(workflow_name=workflow.name)
    text = files_text(storage.storage_path) if isinstance(storage, FileCheckpointStorage) else ""
    return text + checkpoint_text(checkpoints), trace_contexts(checkpoints)


@STREAM
async def test_resumed_run_carries_the_apps_session_and_records_the_checkpoint(
    spans: InMemorySpanExporter, storage: Any, stream: bool
) -> None:
    first = reviewed_pipeline(checkpoint_storage=storage)
    with otel_identity.session_scope("session-a", user_id="user-7"):
        paused = await run_workflow(first, "plan a trip to Lisbon", stream=stream)
    asked = [event.request_id for event in paused.get_request_info_events()]
    checkpoint_id = first.get_last_checkpoint_id()
    assert checkpoint_id is not None and asked

    restored = reviewed_pipeline(checkpoint_storage=storage)  # a new instance, as in a new process
    with otel_identity.session_scope("session-a"):
        again = await run_workflow(restored, checkpoint_id=checkpoint_id, stream=stream)
    assert [event.request_id for event in again.get_request_info_events()] == asked, "the restore re-emits them"

    resumed = reviewed_pipeline(checkpoint_storage=storage)
    with otel_identity.session_scope("session-a"):
        answers = {request_id: AgentRequestInfoResponse.approve() for request_id in asked}
        done = await run_workflow(resumed, responses=answers, checkpoint_id=checkpoint_id, stream=stream)

    assert done.get_outputs()
    finished = spans.get_finished_spans()
    issuing, restoring, resuming = (outer_run(spans, "session-a", index) for index in range(3))
    assert attrs(issuing)[attr.PENDING_REQUESTS_ISSUED] == tuple(asked)
    assert attrs(restoring)[attr.CHECKPOINT_ID] == checkpoint_id
    assert attr.PENDING_REQUESTS_ISSUED not in attrs(restoring), "re-emitted on restore, not issued again"
    assert attr.CHECKPOINT_RESUMED not in attrs(issuing)
    assert attrs(resuming)[attr.CHECKPOINT_RESUMED] is True
    assert attrs(resuming)[attr.CHECKPOINT_ID] == checkpoint_id
    assert attrs(resuming)[attr.PENDING_REQUESTS_ANSWERED] == tuple(asked)
    assert_one_conversation(run_tree(finished, resuming), session_id="session-a", conversation_id="session-a")
    text, contexts = await stored(storage, resumed)
    assert_no_identity(text, contexts, "session-a", "user-7")


@pytest.mark.parametrize("where", ["app baggage", "trusted destination in scope"])
async def test_no_checkpoint_holds_identity_baggage(
    spans: InMemorySpanExporter, storage: Any, trust: Any, where: str
) -> None:
    trust(["tools.internal"], baggage_user_id=True)
    workflow = sequential(checkpoint_storage=storage)
    with otel_identity.session_scope("session-a", user_id="user-7"):
        # The app's own baggage, identity keys included: other keys still travel, ours never into a checkpoint.
        token = context_api.attach(
            baggage.set_baggage(attr.SESSION_ID, "session-a", baggage.set_baggage("tenant.tier", "gold"))
        )
        try:
            if where == "trusted destination in scope":
                with otel_identity.destination_scope("https://tools.internal/mcp"):
                    await workflow.run("plan a trip to Lisbon")
            else:
                await workflow.run("plan a trip to Lisbon")
        finally:
            context_api.detach(token)

    text, contexts = await stored(storage, workflow)
    assert_no_identity(text, contexts, "session-a", "user-7")
    assert all("tenant.tier=gold" in context.get("baggage", "") for context in contexts), "other baggage untouched"
    run = roots(spans.get_finished_spans(), "workflow.run")[0]
    assert attrs(run)[attr.SESSION_ID] == "session-a"
