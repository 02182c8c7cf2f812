"""An agent-framework agent behind a real a2a-sdk server, called by a2a-sdk's client and by ``A2AAgent``.

The server hosts an ``Agent`` through agent-framework's ``A2AExecutor`` (the model is the
deterministic scripted chat client). Callers name their ``AgentSession`` like the app's session
scope, so the expectations hold whether or not the agent-framework instrumentor (which makes
``AgentSession.session_id`` the session of a run) is active too. The agent's own spans (``invoke_agent``, ``chat``) come
from agent-framework's telemetry; the task scope opened by this instrumentor is what puts
the A2A task and conversation on them, and the caller's session when the caller is trusted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import httpx
import pytest
from a2a.types.a2a_pb2 import CancelTaskRequest, SendMessageRequest, TaskState
from a2a_servers import (
    TRANSPORTS,
    A2AServer,
    ask_first_executor,
    framework_executor,
    make_client,
    user_message,
)
from a2a_spans import Spans, attributes, one, state_events
from agent_framework_a2a import A2AAgent
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from otel_identity_a2a import A2AInstrumentor
from otel_identity_a2a import attributes as a2a_attr

import otel_identity
from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule

_HOLD = asyncio.Event()  # never set: a run waiting on it only ends by cancellation


@pytest.fixture(scope="module")
def server() -> Iterator[A2AServer]:
    rules = [Rule("explode", raises=RuntimeError("model overloaded")), Rule("hold", gate=_HOLD)]
    with A2AServer(framework_executor(rules=rules), name="travel-agent", description="Books trips.") as running:
        yield running


@pytest.fixture(scope="module")
def streaming_server() -> Iterator[A2AServer]:
    with A2AServer(framework_executor(stream=True), name="travel-agent") as running:
        yield running


@pytest.fixture(scope="module")
def asking_server() -> Iterator[A2AServer]:
    with A2AServer(ask_first_executor(), name="booking-agent") as running:
        yield running


def trusting(trust: Any, *servers: A2AServer) -> None:
    trust([f"127.0.0.1:{port}" for server in servers for port in (server.port, server.grpc_port)])


def in_trace(spans: Spans, trace_id: int) -> list[ReadableSpan]:
    return [span for span in spans.all() if span.context.trace_id == trace_id]


def operation(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if attributes(span).get(attr.GEN_AI_OPERATION_NAME) == name]


def of_task(spans: list[ReadableSpan], task_id: str) -> list[ReadableSpan]:
    return [span for span in spans if attributes(span).get(attr.A2A_TASK_ID) == task_id]


async def agent_spans_of(a2a_spans: Spans, task_id: str, count: int = 1) -> list[ReadableSpan]:
    """The server-side ``chat`` spans of ``task_id`` (waits until ``count`` have ended)."""
    await a2a_spans.until(lambda s: len(operation(of_task(s.all(), task_id), "chat")) >= count)
    return operation(of_task(a2a_spans.all(), task_id), "chat")


@pytest.mark.parametrize("binding", TRANSPORTS)
async def test_a2a_client_to_hosted_agent_is_one_trace_with_task_scope(
    binding: str, server: A2AServer, trust: Any, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    trusting(trust, server)
    client = make_client(server, binding, streaming=False)
    try:
        with otel_identity.session_scope("sess-af"):
            events = [event async for event in client.send_message(SendMessageRequest(message=user_message("Rome")))]
    finally:
        await client.close()
    task = events[-1].task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED

    chat = one(await agent_spans_of(a2a_spans, task.id))
    await a2a_spans.until(lambda s: len(of_task(s.ours(name="SendMessage"), task.id)) == 2)
    client_span = one(of_task(a2a_spans.ours(SpanKind.CLIENT, "SendMessage"), task.id))
    trace_spans = in_trace(a2a_spans, client_span.context.trace_id)
    served = one([span for span in trace_spans if span in a2a_spans.ours(SpanKind.SERVER, "SendMessage")])
    invoke = one(operation(trace_spans, "invoke_agent"))

    assert chat in trace_spans
    for span in (client_span, served, invoke, chat):
        assert attributes(span)[attr.SESSION_ID] == "sess-af", span.name
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == task.context_id, span.name
        assert attributes(span)[attr.A2A_TASK_ID] == task.id, span.name
    assert attributes(served)[attr.GEN_AI_AGENT_NAME] == "travel-agent"


async def test_a2a_agent_caller_one_trace_and_trusted_session_only(
    server: A2AServer, trust: Any, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    async with httpx.AsyncClient() as http:
        agent = A2AAgent(agent_card=server.card, http_client=http)
        trusting(trust, server)
        with otel_identity.session_scope("sess-caller"):
            trusted = agent.create_session(session_id="sess-caller")
            await agent.run("Lisbon", session=trusted)
        trust(["127.0.0.1:1"])  # now the server is not trusted
        with otel_identity.session_scope("sess-caller"):
            untrusted = agent.create_session(session_id="sess-caller")
            await agent.run("Oslo", session=untrusted)

    runs = {}
    for label, session in (("trusted", trusted), ("untrusted", untrusted)):
        state = session.service_session_id
        assert isinstance(state, dict)
        runs[label] = (state["task_id"], state["context_id"])

    trusted_chat = one(await agent_spans_of(a2a_spans, runs["trusted"][0]))
    untrusted_chat = one(await agent_spans_of(a2a_spans, runs["untrusted"][0]))
    await a2a_spans.until(lambda s: len(s.ours(name="SendMessage")) >= 4)
    for label, chat in (("trusted", trusted_chat), ("untrusted", untrusted_chat)):
        task_id, context_id = runs[label]
        client_span = one(of_task(a2a_spans.ours(SpanKind.CLIENT, "SendMessage"), task_id))
        served = one(of_task(a2a_spans.ours(SpanKind.SERVER, "SendMessage"), task_id))
        assert chat.context.trace_id == served.context.trace_id == client_span.context.trace_id
        assert attributes(client_span)[attr.SESSION_ID] == "sess-caller"
        assert attributes(client_span)[attr.GEN_AI_CONVERSATION_ID] == context_id
        assert attributes(chat)[attr.GEN_AI_CONVERSATION_ID] == context_id
        expected_session = "sess-caller" if label == "trusted" else context_id
        assert attributes(served)[attr.SESSION_ID] == expected_session
        assert attributes(chat)[attr.SESSION_ID] == expected_session


async def test_a2a_agent_multi_turn_input_required_keeps_task_and_conversation(
    asking_server: A2AServer, trust: Any, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    trusting(trust, asking_server)
    async with httpx.AsyncClient() as http:
        agent = A2AAgent(agent_card=asking_server.card, http_client=http)
        with otel_identity.session_scope("sess-booking"):
            session = agent.create_session(session_id="sess-booking")
            await agent.run("Book a flight to Rome", session=session)
            first = dict(session.service_session_id)  # type: ignore[arg-type]
            await agent.run("Next Tuesday", session=session)
            second = dict(session.service_session_id)  # type: ignore[arg-type]
    assert first["task_state"] == TaskState.TASK_STATE_INPUT_REQUIRED
    assert second["task_state"] == TaskState.TASK_STATE_COMPLETED
    assert first["task_id"] == second["task_id"] and first["context_id"] == second["context_id"]
    task_id, context_id = first["task_id"], first["context_id"]

    chat = one(await agent_spans_of(a2a_spans, task_id))  # only the second turn calls the model
    await a2a_spans.until(lambda s: len(of_task(s.ours(name="SendMessage"), task_id)) == 4)
    clients = sorted(of_task(a2a_spans.ours(SpanKind.CLIENT, "SendMessage"), task_id), key=lambda x: x.start_time or 0)
    servers = sorted(of_task(a2a_spans.ours(SpanKind.SERVER, "SendMessage"), task_id), key=lambda x: x.start_time or 0)
    assert [attributes(span)[attr.A2A_TASK_STATE] for span in clients] == [
        "TASK_STATE_INPUT_REQUIRED",
        "TASK_STATE_COMPLETED",
    ]
    assert state_events(servers[0]) == ["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", "TASK_STATE_INPUT_REQUIRED"]
    assert state_events(servers[1]) == ["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", "TASK_STATE_COMPLETED"]
    for span in [*clients, *servers, chat]:
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == context_id, span.name
        assert attributes(span)[attr.SESSION_ID] == "sess-booking", span.name
        assert span.status.status_code == StatusCode.UNSET, span.name
    # The follow-up names the task in the message itself (A2AAgent continues an INPUT_REQUIRED task).
    assert attributes(clients[1])[attr.A2A_TASK_ID] == task_id
    assert chat.context.trace_id == servers[1].context.trace_id == clients[1].context.trace_id


async def test_a2a_agent_streaming_task_states_on_both_sides(
    streaming_server: A2AServer, trust: Any, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    trusting(trust, streaming_server)
    async with httpx.AsyncClient() as http:
        agent = A2AAgent(agent_card=streaming_server.card, http_client=http)
        with otel_identity.session_scope("sess-streaming"):
            session = agent.create_session(session_id="sess-streaming")
            updates = [update async for update in agent.run("Kyoto", session=session, stream=True)]
    assert "".join(update.text for update in updates if update.text).strip()
    state = session.service_session_id
    assert isinstance(state, dict)
    task_id, context_id = state["task_id"], state["context_id"]

    chat = one(await agent_spans_of(a2a_spans, task_id))
    await a2a_spans.until(lambda s: len(of_task(s.ours(name="SendStreamingMessage"), task_id)) == 2)
    for span in of_task(a2a_spans.ours(name="SendStreamingMessage"), task_id):
        assert state_events(span) == ["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", "TASK_STATE_COMPLETED"]
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == context_id
        assert attributes(span)[attr.SESSION_ID] == "sess-streaming"
        assert span.context.trace_id == chat.context.trace_id
    assert attributes(chat)[attr.SESSION_ID] == "sess-streaming"


async def test_failing_model_fails_the_task_and_both_spans_are_error(
    server: A2AServer, trust: Any, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    trusting(trust, server)
    async with httpx.AsyncClient() as http:
        agent = A2AAgent(agent_card=server.card, http_client=http)
        session = agent.create_session()
        await agent.run("explode please", session=session)  # A2AAgent does not raise on FAILED
    state = session.service_session_id
    assert isinstance(state, dict) and state["task_state"] == TaskState.TASK_STATE_FAILED
    task_id = state["task_id"]

    await a2a_spans.until(lambda s: len(of_task(s.ours(name="SendMessage"), task_id)) == 2)
    for span in of_task(a2a_spans.ours(name="SendMessage"), task_id):
        assert span.status.status_code == StatusCode.ERROR, span.kind
        assert attributes(span)[a2a_attr.ERROR_TYPE] == "TASK_STATE_FAILED"
    chat = one(await agent_spans_of(a2a_spans, task_id))
    assert chat.status.status_code == StatusCode.ERROR  # the model call itself failed


async def test_cancelled_hosted_run_records_canceled_without_error(
    server: A2AServer, trust: Any, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    trusting(trust, server)
    client = make_client(server, "JSONRPC", streaming=True)
    try:
        with otel_identity.session_scope("sess-hold"):
            stream = client.send_message(SendMessageRequest(message=user_message("hold on")))
            async for event in stream:
                if event.HasField("status_update") and event.status_update.status.state == TaskState.TASK_STATE_WORKING:
                    break
            task_id = event.status_update.task_id
            cancelled = await client.cancel_task(CancelTaskRequest(id=task_id))
            rest = [event async for event in stream]
    finally:
        await client.close()
    assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
    assert rest[-1].status_update.status.state == TaskState.TASK_STATE_CANCELED

    await a2a_spans.until(
        lambda s: (
            len(of_task(s.ours(name="CancelTask"), task_id)) == 2
            and len(of_task(s.ours(name="SendStreamingMessage"), task_id)) == 2
        )
    )
    for span in of_task(a2a_spans.ours(name="CancelTask") + a2a_spans.ours(name="SendStreamingMessage"), task_id):
        assert state_events(span)[-1] == "TASK_STATE_CANCELED", (span.name, span.kind)
        assert span.status.status_code == StatusCode.UNSET, (span.name, span.kind)
        assert attributes(span)[attr.SESSION_ID] == "sess-hold"


async def test_everything_instrumented_a2a_agent_run_span_parents_the_a2a_client_span(
    server: A2AServer, trust: Any, a2a_spans: Spans
) -> None:
    """``otel_identity.instrumentation.instrument()`` as an app calls it: agent-framework's run span and ours agree."""
    enabled = otel_identity.instrumentation.instrument()
    try:
        assert {"a2a", "agent_framework"} <= set(enabled)
        trusting(trust, server)
        async with httpx.AsyncClient() as http:
            agent = A2AAgent(agent_card=server.card, http_client=http)
            with otel_identity.session_scope("sess-all"):
                session = agent.create_session(session_id="sess-all")
                await agent.run("Vienna", session=session)
    finally:
        for entry_point in entry_points(group="opentelemetry_instrumentor"):
            if entry_point.name in enabled:
                entry_point.load()().uninstrument()
    state = session.service_session_id
    assert isinstance(state, dict)
    task_id, context_id = state["task_id"], state["context_id"]

    chat = one(await agent_spans_of(a2a_spans, task_id))
    await a2a_spans.until(lambda s: len(of_task(s.ours(name="SendMessage"), task_id)) == 2)
    ours = one(of_task(a2a_spans.ours(SpanKind.CLIENT, "SendMessage"), task_id))
    run = one([span for span in a2a_spans.all() if ours.parent and span.context.span_id == ours.parent.span_id])
    assert run.kind == SpanKind.CLIENT and attributes(run)[attr.GEN_AI_OPERATION_NAME] == "invoke_agent"
    for span in (run, ours, chat):
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == context_id, span.name
        assert attributes(span)[attr.A2A_TASK_ID] == task_id, span.name
        assert attributes(span)[attr.SESSION_ID] == "sess-all", span.name
    assert chat.context.trace_id == run.context.trace_id
