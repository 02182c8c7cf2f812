"""Contrib-standard behaviour of :class:`A2AInstrumentor`, and the less common paths.

Uninstrument, suppressed instrumentation, a custom tracer provider, a non-recording
provider, a failure inside our own telemetry, the entry point; then push notifications,
the legacy request handler and tenants.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import pytest
import wrapt
from a2a.client.transports.jsonrpc import JsonRpcTransport
from a2a.server.agent_execution.active_task import ActiveTask
from a2a.server.request_handlers import DefaultRequestHandler, LegacyRequestHandler
from a2a.types.a2a_pb2 import SendMessageRequest, TaskPushNotificationConfig, TaskState
from a2a_servers import A2AServer, ScriptedExecutor, make_client, user_message
from a2a_spans import Spans, attributes, one, state_events
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode
from otel_identity_a2a import A2AInstrumentor
from otel_identity_a2a import attributes as a2a_attr
from otel_identity_a2a.package import _instruments

import otel_identity
from otel_identity import attributes as attr


@pytest.fixture(scope="module")
def server() -> Iterator[A2AServer]:
    with A2AServer(ScriptedExecutor(), push=True) as running:
        yield running


async def send(server: A2AServer, request: SendMessageRequest, binding: str = "JSONRPC") -> list[Any]:
    client = make_client(server, binding, streaming=False)
    try:
        return [event async for event in client.send_message(request)]
    finally:
        await client.close()


def patched() -> list[bool]:
    return [
        isinstance(JsonRpcTransport.__dict__["send_message"], wrapt.FunctionWrapper),
        isinstance(DefaultRequestHandler.__dict__["on_message_send"], wrapt.FunctionWrapper),
        isinstance(ActiveTask.__dict__["enqueue_request"], wrapt.FunctionWrapper),
    ]


async def test_uninstrument_restores_a2a_sdk(server: A2AServer, a2a_spans: Spans) -> None:
    instrumentor = A2AInstrumentor()
    instrumentor.instrument()
    assert patched() == [True, True, True]
    await send(server, SendMessageRequest(message=user_message("one")))
    await a2a_spans.until_count(1, SpanKind.SERVER, "SendMessage")
    instrumentor.uninstrument()
    assert patched() == [False, False, False]
    a2a_spans.exporter.clear()

    events = await send(server, SendMessageRequest(message=user_message("two")))
    assert events[-1].task.status.state == TaskState.TASK_STATE_COMPLETED
    # a2a-sdk's own spans still appear; ours do not. The dispatcher's span encloses the handler
    # (and so where our server span would be): once it has ended, ours would have too.
    await a2a_spans.until(lambda s: any(x.name.endswith("JsonRpcDispatcher.handle_requests") for x in s.all()))
    assert a2a_spans.ours() == []
    assert any(span.name.endswith("JsonRpcTransport.send_message") for span in a2a_spans.all())


async def test_suppressed_instrumentation_passes_through(
    server: A2AServer, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    message = user_message("quietly")
    with suppress_instrumentation():
        events = await send(server, SendMessageRequest(message=message))
    assert events[-1].task.status.state == TaskState.TASK_STATE_COMPLETED
    served = one(await a2a_spans.until_count(1, SpanKind.SERVER, "SendMessage"))
    assert a2a_spans.ours(SpanKind.CLIENT) == []
    # Nothing was injected: the server started a trace of its own.
    assert served.parent is None or served.parent.is_remote is False


async def test_custom_tracer_provider_receives_the_spans(
    server: A2AServer, a2a_spans: Spans, tracer_provider: TracerProvider
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = A2AInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        events = await send(server, SendMessageRequest(message=user_message("custom")))
    finally:
        instrumentor.uninstrument()
    task_id = events[-1].task.id
    mine = [span for span in exporter.get_finished_spans() if span.kind == SpanKind.CLIENT]
    assert [(span.name, attributes(span)[attr.A2A_TASK_ID]) for span in mine] == [("SendMessage", task_id)]
    assert a2a_spans.ours(SpanKind.CLIENT) == []


async def test_non_recording_spans_keep_the_call_and_the_task_scope(server: A2AServer, a2a_spans: Spans) -> None:
    provider = TracerProvider(sampler=ALWAYS_OFF)
    instrumentor = A2AInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        events = await send(server, SendMessageRequest(message=user_message("unsampled")))
    finally:
        instrumentor.uninstrument()
    task_id = events[-1].task.id
    assert events[-1].task.status.state == TaskState.TASK_STATE_COMPLETED
    # Nothing was sampled, but the executor still ran in the task scope.
    executor = server.executor
    assert isinstance(executor, ScriptedExecutor)
    scope = executor.scopes[task_id]
    assert scope is not None and scope.task is not None and scope.task.task_id == task_id
    assert scope.conversation_id == events[-1].task.context_id
    assert a2a_spans.ours() == []


async def test_a_failure_in_our_telemetry_never_reaches_the_app(
    server: A2AServer, a2a_spans: Spans, instrumented: A2AInstrumentor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(request: object) -> object:
        raise RuntimeError("bug in otel-identity")

    monkeypatch.setattr("otel_identity_a2a._client.request_facts", broken)
    monkeypatch.setattr("otel_identity_a2a._server.request_facts", broken)
    events = await send(server, SendMessageRequest(message=user_message("still works")))
    assert events[-1].task.status.state == TaskState.TASK_STATE_COMPLETED
    # The executor scope does not depend on the broken helper.
    await a2a_spans.until(lambda s: any(x.name == "agent.work" for x in s.all()))
    work = one([span for span in a2a_spans.all() if span.name == "agent.work"])
    assert attributes(work)[attr.A2A_TASK_ID] == events[-1].task.id


def test_dependencies_and_entry_point() -> None:
    assert A2AInstrumentor().instrumentation_dependencies() == _instruments == ("a2a-sdk >= 1.3, < 2",)
    found = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "a2a"]
    assert [ep.load() for ep in found] == [A2AInstrumentor]


async def test_push_notification_starts_a_trace_linked_to_the_request(
    server: A2AServer, trust: Any, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    trust([f"127.0.0.1:{server.port}"])
    request = SendMessageRequest(message=user_message("notify me"))
    request.configuration.task_push_notification_config.CopyFrom(
        TaskPushNotificationConfig(url=server.webhook_url, token="secret-token")
    )
    with otel_identity.session_scope("sess-push"):
        events = await send(server, request)
    task = events[-1].task

    def pushes() -> list[Any]:
        return a2a_spans.ours(SpanKind.PRODUCER, a2a_attr.PUSH_NOTIFICATION_SPAN)

    # One push per task event: the task, WORKING, the artifact, COMPLETED.
    await a2a_spans.until(lambda s: len(pushes()) == 4)
    served = one(
        [s for s in a2a_spans.ours(SpanKind.SERVER, "SendMessage") if attributes(s)[attr.A2A_TASK_ID] == task.id]
    )
    states = [attributes(span).get(attr.A2A_TASK_STATE) for span in sorted(pushes(), key=lambda x: x.start_time or 0)]
    assert states == ["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", None, "TASK_STATE_COMPLETED"]
    for push in pushes():
        assert push.parent is None  # sent from a background task: a trace of its own
        assert [link.context.span_id for link in push.links] == [served.context.span_id]
        assert attributes(push)[attr.A2A_TASK_ID] == task.id
        assert attributes(push)[attr.GEN_AI_CONVERSATION_ID] == task.context_id
        assert attributes(push)[attr.SESSION_ID] == "sess-push"
        assert attributes(push)[a2a_attr.SERVER_PORT] == server.port
        assert push.status.status_code == StatusCode.UNSET
    with server.pushed_changed:
        assert server.pushed_changed.wait_for(lambda: len(server.pushed) == 4, 10)
        assert all(item["headers"]["x-a2a-notification-token"] == "secret-token" for item in server.pushed)


async def test_legacy_request_handler_gets_the_same_spans_and_scope(
    trust: Any, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    with A2AServer(ScriptedExecutor(), handler_class=LegacyRequestHandler) as legacy:
        trust([f"127.0.0.1:{legacy.port}"])
        with otel_identity.session_scope("sess-legacy"):
            events = await send(legacy, SendMessageRequest(message=user_message("old school")))
        task = events[-1].task
        served = one(await a2a_spans.until_count(1, SpanKind.SERVER, "SendMessage"))
        await a2a_spans.until(lambda s: any(x.name == "agent.work" for x in s.all()))
    work = one([span for span in a2a_spans.all() if span.name == "agent.work"])
    for span in (served, work):
        assert attributes(span)[attr.A2A_TASK_ID] == task.id
        assert attributes(span)[attr.GEN_AI_CONVERSATION_ID] == task.context_id
        assert attributes(span)[attr.SESSION_ID] == "sess-legacy"
    assert state_events(served)[-1] == "TASK_STATE_COMPLETED"
    assert work.context.trace_id == served.context.trace_id


@pytest.mark.parametrize("binding", ["JSONRPC", "HTTP+JSON", "GRPC"])
async def test_tenant_and_reference_tasks_are_recorded(
    binding: str, server: A2AServer, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    request = SendMessageRequest(message=user_message("for acme", reference_task_ids=["t-earlier"]), tenant="acme")
    events = await send(server, request, binding)
    task_id = events[-1].task.id
    await a2a_spans.until(lambda s: len(s.ours(name="SendMessage")) == 2)
    for span in a2a_spans.ours(name="SendMessage"):
        assert attributes(span)[a2a_attr.A2A_TENANT] == "acme"
        assert attributes(span)[attr.A2A_REFERENCE_TASK_IDS] == ("t-earlier",)
        assert attributes(span)[attr.A2A_TASK_ID] == task_id
