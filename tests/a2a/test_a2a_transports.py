"""Client and server spans over every transport: one trace, the same ids on both sides, states and status.

A real a2a-sdk server (:class:`a2a_servers.A2AServer`, a minimal ``AgentExecutor`` behind it)
is called by a real a2a-sdk client over JSON-RPC, HTTP+JSON and gRPC; each test runs once
per transport and expects the same spans.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from a2a.client import ClientCallContext
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from a2a.utils.errors import TaskNotFoundError
from a2a_servers import TRANSPORTS, A2AServer, ScriptedExecutor, make_client, user_message
from a2a_spans import Spans, attributes, one, state_events
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from otel_identity_a2a import A2AInstrumentor
from otel_identity_a2a import attributes as a2a_attr

import otel_identity
from otel_identity import attributes as attr

pytestmark = pytest.mark.parametrize("binding", TRANSPORTS)


@pytest.fixture(scope="module")
def server() -> Iterator[A2AServer]:
    with A2AServer(ScriptedExecutor()) as running:
        yield running


@pytest.fixture
def trusted(server: A2AServer, trust: Any) -> None:
    """Trust the server's HTTP and gRPC ports as identity destinations."""
    trust([f"127.0.0.1:{server.port}", f"127.0.0.1:{server.grpc_port}"])


async def send(server: A2AServer, binding: str, request: SendMessageRequest, *, streaming: bool) -> list[Any]:
    """Send ``request`` and collect the stream's payloads (task, message, status or artifact updates)."""
    client = make_client(server, binding, streaming=streaming)
    try:
        return [event async for event in client.send_message(request)]
    finally:
        await client.close()


def state_of(event: StreamResponse) -> int:
    """The task state an event reports (0 when it reports none)."""
    if event.HasField("task"):
        return int(event.task.status.state)
    if event.HasField("status_update"):
        return int(event.status_update.status.state)
    return 0


def payload(event: StreamResponse) -> Any:
    return getattr(event, str(event.WhichOneof("payload")))


def ids_of(events: list[Any]) -> tuple[str, str]:
    """(task id, context id) the server generated, from the first event that carries them."""
    for event in events:
        item = payload(event)
        task_id = item.id if isinstance(item, Task) else item.task_id
        if task_id:
            return task_id, item.context_id
    raise AssertionError(f"no task in {events}")


def of_task(spans: list[ReadableSpan], task_id: str) -> list[ReadableSpan]:
    return [span for span in spans if attributes(span).get(attr.A2A_TASK_ID) == task_id]


def work_spans(spans: Spans, task_id: str) -> list[ReadableSpan]:
    """The ``agent.work`` spans the executor opened for ``task_id``."""
    return [span for span in of_task(spans.all(), task_id) if span.name == "agent.work"]


async def sides(a2a_spans: Spans, name: str, task_id: str) -> tuple[ReadableSpan, ReadableSpan]:
    """The client and server span of method ``name`` for ``task_id``, once both have ended."""
    await a2a_spans.until(
        lambda s: (
            bool(of_task(s.ours(SpanKind.CLIENT, name), task_id))
            and bool(of_task(s.ours(SpanKind.SERVER, name), task_id))
        )
    )
    return (
        one(of_task(a2a_spans.ours(SpanKind.CLIENT, name), task_id)),
        one(of_task(a2a_spans.ours(SpanKind.SERVER, name), task_id)),
    )


async def test_send_message_one_trace_same_ids_trusted_session(
    binding: str, server: A2AServer, trusted: None, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    message = user_message("hello there")
    with otel_identity.session_scope("sess-trusted"):
        events = await send(server, binding, SendMessageRequest(message=message), streaming=False)
    task_id, context_id = ids_of(events)
    client, served = await sides(a2a_spans, "SendMessage", task_id)
    await a2a_spans.until(lambda s: bool(work_spans(s, task_id)))
    work = one(work_spans(a2a_spans, task_id))

    assert client.kind == SpanKind.CLIENT and served.kind == SpanKind.SERVER
    assert served.context.trace_id == client.context.trace_id == work.context.trace_id
    assert served.parent is not None and served.parent.span_id == client.context.span_id
    url = server.interface_url(binding)
    port = server.grpc_port if binding == "GRPC" else server.port
    expected_common = {
        attr.A2A_METHOD_NAME: "SendMessage",
        attr.A2A_MESSAGE_ID: message.message_id,
        attr.A2A_TASK_ID: task_id,
        attr.GEN_AI_CONVERSATION_ID: context_id,
        attr.A2A_TASK_STATE: "TASK_STATE_COMPLETED",
        attr.SESSION_ID: "sess-trusted",
        attr.GEN_AI_AGENT_NAME: "echo-agent",
        a2a_attr.GEN_AI_AGENT_DESCRIPTION: "Echoes what it is told.",
        a2a_attr.GEN_AI_AGENT_VERSION: "1.2.3",
        a2a_attr.A2A_PROTOCOL_VERSION: "1.0",
    }
    for span in (client, served):
        assert expected_common.items() <= attributes(span).items(), (span.kind, attributes(span), url)
        assert span.status.status_code == StatusCode.UNSET
    assert attributes(client)[a2a_attr.SERVER_ADDRESS] == "127.0.0.1"
    assert attributes(client)[a2a_attr.SERVER_PORT] == port
    assert state_events(served) == ["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", "TASK_STATE_COMPLETED"]
    assert state_events(client) == ["TASK_STATE_COMPLETED"]
    # The executor ran in the task scope, under the caller's session.
    assert attributes(work)[attr.A2A_TASK_ID] == task_id
    assert attributes(work)[attr.GEN_AI_CONVERSATION_ID] == context_id
    assert attributes(work)[attr.SESSION_ID] == "sess-trusted"


async def test_untrusted_server_never_sees_the_callers_session(
    binding: str, server: A2AServer, trust: Any, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    trust(["127.0.0.1:1"])  # some other peer
    with otel_identity.session_scope("sess-private"):
        events = await send(server, binding, SendMessageRequest(message=user_message("hello")), streaming=False)
    task_id, context_id = ids_of(events)
    client, served = await sides(a2a_spans, "SendMessage", task_id)
    await a2a_spans.until(lambda s: bool(work_spans(s, task_id)))
    work = one(work_spans(a2a_spans, task_id))

    assert attributes(client)[attr.SESSION_ID] == "sess-private"
    server_side = [span for span in of_task(a2a_spans.all(), task_id) if span is not client]
    assert server_side and all(attributes(span).get(attr.SESSION_ID) != "sess-private" for span in server_side)
    # Without the caller's claim the server's spans carry its local session: the conversation.
    assert attributes(served)[attr.SESSION_ID] == context_id
    assert attributes(work)[attr.SESSION_ID] == context_id
    assert served.context.trace_id == client.context.trace_id


async def test_streaming_task_states_become_events_and_span_ends_with_stream(
    binding: str, server: A2AServer, trusted: None, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    with otel_identity.session_scope("sess-stream"):
        events = await send(server, binding, SendMessageRequest(message=user_message("stream it")), streaming=True)
    task_id, context_id = ids_of(events)
    client, served = await sides(a2a_spans, "SendStreamingMessage", task_id)

    expected = ["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", "TASK_STATE_COMPLETED"]
    assert state_events(client) == expected
    assert state_events(served) == expected
    for span in (client, served):
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == context_id
        assert attributes(span)[attr.A2A_TASK_STATE] == "TASK_STATE_COMPLETED"
        assert attributes(span)[attr.SESSION_ID] == "sess-stream"
        assert span.status.status_code == StatusCode.UNSET
    assert client.end_time is not None and served.parent is not None
    assert served.parent.span_id == client.context.span_id


async def test_input_required_then_completed_shares_ids_and_links_the_new_trace(
    binding: str, server: A2AServer, trusted: None, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    with otel_identity.session_scope("sess-multi"):
        first = await send(server, binding, SendMessageRequest(message=user_message("ask me")), streaming=False)
        task_id, context_id = ids_of(first)
        assert payload(first[-1]).status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        second = await send(
            server,
            binding,
            SendMessageRequest(message=user_message("Paris", context_id=context_id, task_id=task_id)),
            streaming=False,
        )
    assert ids_of(second) == (task_id, context_id)
    await a2a_spans.until(
        lambda s: (
            len(of_task(s.ours(SpanKind.CLIENT, "SendMessage"), task_id)) == 2
            and len(of_task(s.ours(SpanKind.SERVER, "SendMessage"), task_id)) == 2
        )
    )
    clients = sorted(of_task(a2a_spans.ours(SpanKind.CLIENT, "SendMessage"), task_id), key=lambda x: x.start_time or 0)
    servers = sorted(of_task(a2a_spans.ours(SpanKind.SERVER, "SendMessage"), task_id), key=lambda x: x.start_time or 0)

    assert [attributes(span)[attr.A2A_TASK_STATE] for span in clients] == [
        "TASK_STATE_INPUT_REQUIRED",
        "TASK_STATE_COMPLETED",
    ]
    assert state_events(servers[0]) == ["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", "TASK_STATE_INPUT_REQUIRED"]
    assert state_events(servers[1])[-1] == "TASK_STATE_COMPLETED"
    for span in clients + servers:
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == context_id
        assert attributes(span)[attr.SESSION_ID] == "sess-multi"
        assert span.status.status_code == StatusCode.UNSET
    # Each turn is its own trace; the second links back to the spans that started the task.
    assert clients[0].context.trace_id != clients[1].context.trace_id
    assert [link.context.span_id for link in clients[1].links] == [clients[0].context.span_id]
    assert [link.context.span_id for link in servers[1].links] == [servers[0].context.span_id]
    assert servers[1].context.trace_id == clients[1].context.trace_id


async def test_failed_task_makes_both_spans_error_unlike_a2a_sdks_own(
    binding: str, server: A2AServer, trusted: None, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    events = await send(server, binding, SendMessageRequest(message=user_message("please fail")), streaming=False)
    task_id, _ = ids_of(events)
    client, served = await sides(a2a_spans, "SendMessage", task_id)

    for span in (client, served):
        assert span.status.status_code == StatusCode.ERROR
        assert attributes(span)[a2a_attr.ERROR_TYPE] == "TASK_STATE_FAILED"
        assert attributes(span)[attr.A2A_TASK_STATE] == "TASK_STATE_FAILED"
    assert state_events(served)[-1] == "TASK_STATE_FAILED"
    sdk_handler = [
        span
        for span in a2a_spans.all()
        if span.name.endswith(".on_message_send") and span.context.trace_id == served.context.trace_id
    ]
    assert sdk_handler and all(span.status.status_code == StatusCode.OK for span in sdk_handler)


async def test_crashing_executor_error_passes_through_and_marks_spans(
    binding: str, server: A2AServer, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    message = user_message("crash now")
    with pytest.raises(Exception) as raised:
        await send(server, binding, SendMessageRequest(message=message), streaming=False)

    def carrying(spans: Spans, kind: SpanKind) -> list[ReadableSpan]:
        return [x for x in spans.ours(kind) if attributes(x).get(attr.A2A_MESSAGE_ID) == message.message_id]

    await a2a_spans.until(lambda s: bool(carrying(s, SpanKind.SERVER)) and bool(carrying(s, SpanKind.CLIENT)))
    client, served = one(carrying(a2a_spans, SpanKind.CLIENT)), one(carrying(a2a_spans, SpanKind.SERVER))
    assert client.status.status_code == StatusCode.ERROR
    assert attributes(client)[a2a_attr.ERROR_TYPE] == type(raised.value).__qualname__
    assert served.status.status_code == StatusCode.ERROR
    assert attributes(served)[a2a_attr.ERROR_TYPE] == "RuntimeError"


async def _until_working(stream: AsyncIterator[StreamResponse]) -> list[StreamResponse]:
    seen: list[StreamResponse] = []
    async for event in stream:
        seen.append(event)
        if event.HasField("status_update") and event.status_update.status.state == TaskState.TASK_STATE_WORKING:
            return seen
    raise AssertionError(f"stream ended before WORKING: {seen}")


async def test_cancelled_task_is_an_event_not_an_error(
    binding: str, server: A2AServer, trusted: None, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    client = make_client(server, binding, streaming=True)
    try:
        with otel_identity.session_scope("sess-cancel"):
            stream = client.send_message(SendMessageRequest(message=user_message("wait for me")))
            seen = await _until_working(stream)
            task_id, context_id = ids_of(seen)
            cancelled = await client.cancel_task(CancelTaskRequest(id=task_id))
            rest = [event async for event in stream]
    finally:
        await client.close()
    assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
    assert rest and rest[-1].status_update.status.state == TaskState.TASK_STATE_CANCELED

    cancel_client, cancel_server = await sides(a2a_spans, "CancelTask", task_id)
    stream_client, stream_server = await sides(a2a_spans, "SendStreamingMessage", task_id)
    for span in (cancel_client, cancel_server):
        assert state_events(span) == ["TASK_STATE_CANCELED"]
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == context_id
        assert span.status.status_code == StatusCode.UNSET
    for span in (stream_client, stream_server):
        assert state_events(span) == [
            "TASK_STATE_SUBMITTED",
            "TASK_STATE_WORKING",
            "TASK_STATE_CANCELED",
        ]
        assert span.status.status_code == StatusCode.UNSET
        assert attributes(span)[attr.SESSION_ID] == "sess-cancel"


async def test_abandoned_stream_still_ends_its_span_and_resubscription_links_back(
    binding: str, server: A2AServer, trusted: None, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    client = make_client(server, binding, streaming=True)
    tracer = trace.get_tracer("tests.a2a")
    try:
        with tracer.start_as_current_span("first-run"), otel_identity.session_scope("sess-resub"):
            stream = client.send_message(SendMessageRequest(message=user_message("wait a while")))
            task_id, context_id = ids_of(await _until_working(stream))
            await stream.aclose()  # type: ignore[attr-defined]
        origin_client = one(of_task(await a2a_spans.until_count(1, SpanKind.CLIENT, "SendStreamingMessage"), task_id))
        # A later, unrelated run resubscribes: a new trace.
        resubscription = client.subscribe(SubscribeToTaskRequest(id=task_id))
        first = await resubscription.__anext__()  # type: ignore[attr-defined]
        await client.cancel_task(CancelTaskRequest(id=task_id))
        rest = [event async for event in resubscription]
    finally:
        await client.close()
    assert first.HasField("task") and first.task.id == task_id
    assert rest[-1].status_update.status.state == TaskState.TASK_STATE_CANCELED

    assert origin_client.status.status_code == StatusCode.UNSET
    assert attributes(origin_client)[attr.A2A_TASK_STATE] == "TASK_STATE_WORKING"
    sub_client, sub_server = await sides(a2a_spans, "SubscribeToTask", task_id)
    origin_server = one(of_task(a2a_spans.ours(SpanKind.SERVER, "SendStreamingMessage"), task_id))
    assert sub_client.context.trace_id != origin_client.context.trace_id
    assert [link.context.span_id for link in sub_client.links] == [origin_client.context.span_id]
    assert [link.context.span_id for link in sub_server.links] == [origin_server.context.span_id]
    assert attributes(sub_server)[attr.GEN_AI_CONVERSATION_ID] == context_id
    assert state_events(sub_server)[-1] == "TASK_STATE_CANCELED"


async def test_read_only_calls_get_spans_with_state_but_no_events(
    binding: str, server: A2AServer, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    events = await send(server, binding, SendMessageRequest(message=user_message("done")), streaming=False)
    task_id, context_id = ids_of(events)
    client = make_client(server, binding)
    try:
        task = await client.get_task(GetTaskRequest(id=task_id))
        listed = await client.list_tasks(ListTasksRequest(context_id=context_id))
    finally:
        await client.close()
    assert task.id == task_id and [item.id for item in listed.tasks] == [task_id]

    get_client, get_server = await sides(a2a_spans, "GetTask", task_id)
    for span in (get_client, get_server):
        assert attributes(span)[attr.A2A_TASK_STATE] == "TASK_STATE_COMPLETED"
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == context_id
        assert state_events(span) == []
    await a2a_spans.until(lambda s: len(s.ours(name="ListTasks")) == 2)
    for span in a2a_spans.ours(name="ListTasks"):
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == context_id
        assert attr.A2A_TASK_ID not in attributes(span)


async def test_errors_and_results_are_unchanged_by_instrumentation(
    binding: str, server: A2AServer, a2a_spans: Spans, tracer_provider: Any
) -> None:
    events = await send(server, binding, SendMessageRequest(message=user_message("keep")), streaming=False)
    task_id, _ = ids_of(events)
    caller_context = ClientCallContext(service_parameters={"x-app": "1"})

    async def observe() -> tuple[Task, tuple[type[BaseException], str], list[tuple[str, int]]]:
        client = make_client(server, binding)
        try:
            task = await client.get_task(GetTaskRequest(id=task_id), context=caller_context)
            with pytest.raises(TaskNotFoundError) as missing:
                await client.get_task(GetTaskRequest(id="no-such-task"))
            streamed = [
                (str(event.WhichOneof("payload")), state_of(event))
                async for event in client.send_message(SendMessageRequest(message=user_message("again")))
            ]
            return task, (type(missing.value), str(missing.value)), streamed
        finally:
            await client.close()

    plain = await observe()
    instrumentor = A2AInstrumentor()
    instrumentor.instrument()
    try:
        traced = await observe()
    finally:
        instrumentor.uninstrument()
    assert traced == plain
    assert plain[2][-1] == ("status_update", TaskState.TASK_STATE_COMPLETED)
    assert caller_context.service_parameters == {"x-app": "1"}  # the caller's context is never changed
    await a2a_spans.until(lambda s: len(s.ours(name="GetTask")) == 4 and len(s.ours(name="SendStreamingMessage")) == 2)
    failed = [span for span in a2a_spans.ours(name="GetTask") if span.status.status_code == StatusCode.ERROR]
    assert sorted(span.kind.name for span in failed) == ["CLIENT", "SERVER"]
    assert {attributes(span)[a2a_attr.ERROR_TYPE] for span in failed} == {"TaskNotFoundError"}
    assert all(attributes(span)[attr.A2A_TASK_ID] == "no-such-task" for span in failed)


async def test_message_reply_has_conversation_but_no_task_and_gc_ends_the_stream_span(
    binding: str, server: A2AServer, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    message = user_message("reply directly")
    # BaseClient returns after a Message without closing the transport's stream: only the
    # event loop's clean-up of the abandoned generator ends the client span.
    events = await send(server, binding, SendMessageRequest(message=message), streaming=True)
    assert [event.WhichOneof("payload") for event in events] == ["message"]
    context_id = events[0].message.context_id

    def carrying(spans: Spans) -> list[ReadableSpan]:
        found = spans.ours(name="SendStreamingMessage")
        return [x for x in found if attributes(x).get(attr.A2A_MESSAGE_ID) == message.message_id]

    await a2a_spans.until(lambda s: len(carrying(s)) == 2)
    for span in carrying(a2a_spans):
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == context_id
        assert attr.A2A_TASK_ID not in attributes(span)  # a Message reply is no task
        assert span.status.status_code == StatusCode.UNSET


async def test_stream_dropped_by_its_consumer_ends_span_when_collected(
    binding: str, server: A2AServer, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    client = make_client(server, binding, streaming=True)
    try:
        stream = client.send_message(SendMessageRequest(message=user_message("wait, then drop")))
        task_id, _ = ids_of(await _until_working(stream))
        del stream  # neither exhausted nor closed
        dropped = one(of_task(await a2a_spans.until_count(1, SpanKind.CLIENT, "SendStreamingMessage"), task_id))
        await client.cancel_task(CancelTaskRequest(id=task_id))
    finally:
        await client.close()
    assert dropped.end_time is not None
    assert attributes(dropped)[attr.A2A_TASK_STATE] == "TASK_STATE_WORKING"
    assert dropped.status.status_code == StatusCode.UNSET
