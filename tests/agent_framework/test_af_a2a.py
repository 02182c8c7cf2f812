"""A2A: ``A2AAgent`` against real a2a-sdk servers on 127.0.0.1, and agents hosted behind ``A2AExecutor``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.types import TaskState
from af_support import AskFirstExecutor, SignalingExecutor, a2a_agent, a2a_server, attrs, descendants, make_agent, named
from agent_framework.exceptions import AgentInvalidRequestException
from agent_framework_a2a import A2AExecutor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from otel_identity import TaskHandle, conversation_scope, get_identities, task_scope
from otel_identity import attributes as attr

pytestmark = pytest.mark.usefixtures("instrumentor")

STREAM = pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])


async def _run(agent: Any, message: str | None, *, stream: bool, **kwargs: Any) -> Any:
    if not stream:
        return await agent.run(message, **kwargs)
    response_stream = agent.run(message, stream=True, **kwargs)
    async for _ in response_stream:
        pass
    return await response_stream.get_final_response()


def _client_runs(spans: InMemorySpanExporter, name: str = "flights") -> list[ReadableSpan]:
    runs = [span for span in named(spans.get_finished_spans(), f"invoke_agent {name}") if span.kind is SpanKind.CLIENT]
    return sorted(runs, key=lambda span: span.start_time or 0)


def _state_events(span: ReadableSpan) -> list[dict[str, Any]]:
    return [dict(event.attributes or {}) for event in span.events if event.name == attr.TASK_STATE_CHANGE_EVENT]


@STREAM
async def test_input_required_task_keeps_its_id_and_references_are_recorded_as_sent(
    spans: InMemorySpanExporter, stream: bool
) -> None:
    executor = AskFirstExecutor()
    async with a2a_server(executor) as card, a2a_agent(card) as agent:
        session = agent.create_session(session_id="caller-session")
        asked = await _run(agent, "ask me about flights", session=session, stream=stream)
        answered = await _run(agent, "Paris", session=session, stream=stream)
        followed = await _run(agent, "and a hotel", session=session, stream=stream)

    assert asked.text == "Which city?"
    assert answered.text == "booked: Paris"
    assert followed.text == "booked: and a hotel"
    first, second, third = _client_runs(spans)
    task_id = executor.received[1]["task_id"]
    context_id = executor.received[0]["context_id"]
    assert task_id and executor.received[0]["task_id"] == task_id, "the second message continued the first task"

    assert attrs(first)[attr.A2A_TASK_ID] == task_id
    assert attrs(first)[attr.A2A_TASK_STATE] == "TASK_STATE_INPUT_REQUIRED"
    assert attrs(second)[attr.A2A_TASK_ID] == task_id
    assert attrs(second)[attr.A2A_TASK_STATE] == "TASK_STATE_COMPLETED"
    assert _state_events(second) == [
        {
            attr.A2A_TASK_ID: task_id,
            attr.A2A_TASK_STATE: "TASK_STATE_COMPLETED",
            attr.TASK_PREVIOUS_STATE: "TASK_STATE_INPUT_REQUIRED",
        }
    ]
    assert attrs(third)[attr.A2A_TASK_ID] == executor.received[2]["task_id"] != task_id

    # Reference task ids: exactly what the server received, only on the run that sent them.
    assert executor.received[2]["reference_task_ids"] == [task_id]
    assert list(attrs(third)[attr.A2A_REFERENCE_TASK_IDS]) == [task_id]
    assert attr.A2A_REFERENCE_TASK_IDS not in attrs(first)
    assert attr.A2A_REFERENCE_TASK_IDS not in attrs(second)

    for run in (first, second, third):
        assert run.kind is SpanKind.CLIENT
        assert attrs(run)[attr.GEN_AI_OPERATION_NAME] == "invoke_agent"
        assert attrs(run)[attr.GEN_AI_AGENT_NAME] == "flights"
        assert attrs(run)[attr.GEN_AI_CONVERSATION_ID] == context_id
        assert attrs(run)[attr.SESSION_ID] == "caller-session"
    assert get_identities() is None


async def test_continued_task_is_in_scope_for_the_request_spans(spans: InMemorySpanExporter) -> None:
    executor = AskFirstExecutor()
    async with a2a_server(executor) as card, a2a_agent(card) as agent:
        session = agent.create_session(session_id="caller-session")
        await agent.run("ask me", session=session)
        await agent.run("Oslo", session=session)

    finished = spans.get_finished_spans()
    second = _client_runs(spans)[1]
    task_id = attrs(second)[attr.A2A_TASK_ID]
    below = descendants(finished, second)[1:]
    assert below, "the A2A client's own spans run inside the run span"
    for span in below:
        assert attrs(span)[attr.A2A_TASK_ID] == task_id, span.name
        assert attrs(span)[attr.SESSION_ID] == "caller-session", span.name


async def test_failed_task_marks_the_run_span(spans: InMemorySpanExporter) -> None:
    async with a2a_server(AskFirstExecutor()) as card, a2a_agent(card) as agent:
        response = await agent.run("please fail", session=agent.create_session())

    (run,) = _client_runs(spans)
    # The framework does not raise for a failed task: it returns the task's last history entry.
    assert response.text == "please fail"
    assert attrs(run)[attr.A2A_TASK_STATE] == "TASK_STATE_FAILED"
    assert attrs(run)["error.type"] == "TASK_STATE_FAILED"
    assert run.status.status_code is StatusCode.ERROR


async def test_run_without_session_still_records_the_remote_conversation(spans: InMemorySpanExporter) -> None:
    executor = AskFirstExecutor()
    async with a2a_server(executor) as card, a2a_agent(card) as agent:
        await agent.run("book it")

    (run,) = _client_runs(spans)
    assert attrs(run)[attr.GEN_AI_CONVERSATION_ID] == executor.received[0]["context_id"]
    assert attrs(run)[attr.A2A_TASK_ID] == executor.received[0]["task_id"]


async def test_request_errors_pass_through(spans: InMemorySpanExporter) -> None:
    async with a2a_server(AskFirstExecutor()) as card, a2a_agent(card) as agent:
        with pytest.raises(AgentInvalidRequestException):
            agent.run(None, session=agent.create_session())
    assert get_identities() is None


async def test_background_run_and_polling_record_continuation_markers_never_the_token(
    spans: InMemorySpanExporter,
) -> None:
    executor = AskFirstExecutor()
    async with a2a_server(executor) as card, a2a_agent(card) as agent:
        session = agent.create_session(session_id="caller-session")
        started = await agent.run("wait for it", session=session, background=True)
        token = started.continuation_token
        assert token is not None
        await executor.working.wait()
        resumed = agent.run(continuation_token=token, stream=True)
        executor.release.set()
        async for _ in resumed:
            pass
        polled = await agent.poll_task(token)

    started_span, resumed_span, polled_span = _client_runs(spans)
    assert attrs(started_span)[attr.CONTINUATION_ISSUED] is True
    assert attr.CONTINUATION_RESUMED not in attrs(started_span)
    assert attrs(resumed_span)[attr.CONTINUATION_RESUMED] is True
    assert attrs(resumed_span)[attr.A2A_TASK_STATE] == "TASK_STATE_COMPLETED"
    assert attrs(polled_span)[attr.CONTINUATION_RESUMED] is True
    raw = polled.raw_representation
    polled_task = raw[-1] if isinstance(raw, list) else raw
    polled_state = TaskState.Name(polled_task.status.state)
    assert attrs(polled_span)[attr.A2A_TASK_STATE] == polled_state
    for span in (started_span, resumed_span, polled_span):
        assert attrs(span)[attr.A2A_TASK_ID] == token["task_id"]
        assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == token["context_id"]
    raw_forms = {json.dumps(token), repr(token), str(dict(token))}
    for span in spans.get_finished_spans():
        for value in attrs(span).values():
            assert str(value) not in raw_forms, span.name


@STREAM
async def test_hosted_agent_spans_carry_the_context_and_task(spans: InMemorySpanExporter, stream: bool) -> None:
    executor = SignalingExecutor(A2AExecutor(make_agent("local"), stream=stream))
    async with a2a_server(executor, name="hotels-remote") as card, a2a_agent(card) as agent:
        session = agent.create_session(session_id="caller-session")
        for message in ("hello", "what is the weather in Paris?"):
            executor.done.clear()
            await agent.run(message, session=session)
            await executor.done.wait()

    finished = spans.get_finished_spans()
    client_runs = _client_runs(spans, "hotels-remote")
    hosted_runs = sorted(named(finished, "invoke_agent concierge"), key=lambda span: span.start_time or 0)
    assert len(client_runs) == len(hosted_runs) == 2
    context_id = attrs(client_runs[0])[attr.GEN_AI_CONVERSATION_ID]
    for client_run, hosted_run in zip(client_runs, hosted_runs, strict=True):
        task_id = attrs(client_run)[attr.A2A_TASK_ID]
        members = descendants(finished, hosted_run)
        assert len(members) > 1
        for span in members:
            assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == context_id, span.name
            assert attrs(span)[attr.A2A_TASK_ID] == task_id, span.name
            assert attrs(span)[attr.RUN_ID] == attrs(hosted_run)[attr.RUN_ID], span.name
    assert named(descendants(finished, hosted_runs[1]), "weather lookup")


class _ScopedExecutor(AgentExecutor):
    """Opens the scopes an a2a-sdk server instrumentor would, then runs the inner executor."""

    def __init__(self, inner: AgentExecutor) -> None:
        self.inner = inner
        self.done = asyncio.Event()
        self.handles: list[TaskHandle] = []

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        handle = TaskHandle(context.task_id or "", state="TASK_STATE_WORKING")
        self.handles.append(handle)
        try:
            with conversation_scope(context.context_id or ""), task_scope(handle):
                await self.inner.execute(context, event_queue)
        finally:
            self.done.set()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        await self.inner.cancel(context, event_queue)


async def test_hosted_agent_keeps_an_enclosing_equal_task_scope(spans: InMemorySpanExporter) -> None:
    executor = _ScopedExecutor(A2AExecutor(make_agent("local")))
    async with a2a_server(executor, name="hotels-remote") as card, a2a_agent(card) as agent:
        await agent.run("hello", session=agent.create_session())
        await executor.done.wait()

    (hosted,) = named(spans.get_finished_spans(), "invoke_agent concierge")
    (handle,) = executor.handles
    for span in descendants(spans.get_finished_spans(), hosted):
        # The enclosing handle (with its state) is still the one in scope: not replaced by an equal one.
        assert attrs(span)[attr.A2A_TASK_ID] == handle.task_id, span.name
        assert attrs(span)[attr.A2A_TASK_STATE] == "TASK_STATE_WORKING", span.name


@STREAM
async def test_first_turn_has_no_stand_in_conversation_and_later_turns_the_remote_one(
    spans: InMemorySpanExporter, stream: bool
) -> None:
    """A conversation the server owns and has not named yet is absent, never the local session id."""
    async with a2a_server(AskFirstExecutor()) as card, a2a_agent(card) as agent:
        session = agent.create_session(session_id="local-session")
        await _run(agent, "ask me about flights", session=session, stream=stream)
        await _run(agent, "Paris", session=session, stream=stream)

    finished = spans.get_finished_spans()
    first, second = _client_runs(spans)
    context_id = attrs(first)[attr.GEN_AI_CONVERSATION_ID]  # learned from the response: the run span has it
    assert context_id != "local-session"
    inside_first = [span for span in descendants(finished, first)[1:] if span.kind is SpanKind.CLIENT]
    assert inside_first, "the HTTP / transport spans of the call were traced"
    for span in descendants(finished, first)[1:]:
        assert attrs(span).get(attr.GEN_AI_CONVERSATION_ID) in (None, context_id), span.name
        assert attrs(span)[attr.SESSION_ID] == "local-session", span.name
    for span in descendants(finished, second):
        assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == context_id, span.name
        assert attrs(span)[attr.SESSION_ID] == "local-session", span.name
    conversations = {attrs(span).get(attr.GEN_AI_CONVERSATION_ID) for span in finished} - {None}
    assert conversations == {context_id}, "one session, one conversation id"
