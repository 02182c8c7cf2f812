"""``AGUIChatClient`` against a real AG-UI endpoint: a CLIENT span per call, the remote thread as conversation.

Client and server run in this process (the server on uvicorn in a thread), so one exporter
sees both sides; they are told apart by span kind and by the trace they share over HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from ag_ui_support import AGUIServer, make_app, server_spans, under
from agent_framework import Agent
from agent_framework_ag_ui import AGUIChatClient, AGUIHttpService
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from otel_identity_ag_ui import AGUIInstrumentor

from otel_identity import attributes as attr
from otel_identity import session_scope


@pytest.fixture
def server(instrumented: object) -> Iterator[AGUIServer]:
    with AGUIServer(make_app()) as running:
        yield running


def _client_spans(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is SpanKind.CLIENT and span.name == "invoke_agent"]


async def _ask(client: AGUIChatClient, thread_id: str, text: str) -> Any:
    return await client.get_response(text, options={"metadata": {"thread_id": thread_id}})


async def test_client_span_per_call_with_remote_thread(server: AGUIServer, spans: InMemorySpanExporter) -> None:
    client = AGUIChatClient(endpoint=f"{server.base_url}/agent")

    async def thread(thread_id: str, texts: list[str]) -> list[Any]:
        return [await _ask(client, thread_id, text) for text in texts]

    answers = await asyncio.gather(
        thread("py-thread-1", ["hello", "weather in Paris?", "again"]),
        thread("py-thread-2", ["hi", "weather there?", "bye"]),
    )
    await client.close()

    sent = {
        response.additional_properties["run_id"]: response.additional_properties["thread_id"]
        for responses in answers
        for response in responses
    }
    assert len(sent) == 6 and answers[0][1].text == "Forecast: sunny in Paris"
    finished = server.finished_spans(spans)
    calls = _client_spans(finished)
    assert sorted((span.attributes or {})[attr.RUN_ID] for span in calls) == sorted(sent)
    servers = {(span.attributes or {}).get(attr.RUN_ID): span for span in server_spans(finished, "/agent")}
    for span in calls:
        attributes = span.attributes or {}
        run_id = attributes[attr.RUN_ID]
        thread_id = sent[run_id]
        assert attributes[attr.GEN_AI_CONVERSATION_ID] == thread_id
        assert attributes[attr.SESSION_ID] == thread_id  # the caller had no session: the thread is its conversation
        assert attributes["gen_ai.operation.name"] == "invoke_agent"
        assert attributes["gen_ai.provider.name"] == "agui"
        assert (attributes["server.address"], attributes["server.port"]) == ("127.0.0.1", server.port)
        assert span.status.status_code is StatusCode.UNSET
        below = under(finished, span)
        http = [child for child in below if child.kind is SpanKind.CLIENT and child is not span]
        assert http and all((child.attributes or {})[attr.GEN_AI_CONVERSATION_ID] == thread_id for child in http)
        remote = servers[run_id]  # the server's request span: same trace, same thread and run
        assert remote.context.trace_id == span.context.trace_id
        assert remote in below
        assert (remote.attributes or {})[attr.SESSION_ID] == thread_id
        assert (remote.attributes or {})[attr.GEN_AI_CONVERSATION_ID] == thread_id


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
async def test_session_reaches_trusted_endpoint_only(
    server: AGUIServer, spans: InMemorySpanExporter, trust: Callable[..., None], trusted: bool
) -> None:
    trust([f"127.0.0.1:{server.port}"] if trusted else ["elsewhere.internal"])
    client = AGUIChatClient(endpoint=f"{server.base_url}/agent")
    with session_scope("app-session-7"):
        response = await _ask(client, "shared-thread", "hello")
    await client.close()

    finished = server.finished_spans(spans)
    (call,) = _client_spans(finished)
    assert (call.attributes or {})[attr.SESSION_ID] == "app-session-7"  # the caller's session stays its own
    assert (call.attributes or {})[attr.GEN_AI_CONVERSATION_ID] == "shared-thread"
    (remote,) = server_spans(finished, "/agent")
    request = under(finished, remote)
    expected_session = "app-session-7" if trusted else "shared-thread"
    assert response.additional_properties["run_id"] == (remote.attributes or {})[attr.RUN_ID]
    for span in request:
        assert (span.attributes or {}).get(attr.SESSION_ID) == expected_session, span.name
        assert (span.attributes or {}).get(attr.GEN_AI_CONVERSATION_ID) == "shared-thread", span.name


async def test_client_errors_pass_through_and_end_the_span(instrumented: object, spans: InMemorySpanExporter) -> None:
    with AGUIServer(make_app()) as stopped:
        endpoint = f"{stopped.base_url}/agent"
    service = AGUIHttpService(endpoint)
    with pytest.raises(httpx.ConnectError):
        async for _ in service.post_run(thread_id="t-err", run_id="r-err", messages=[]):
            pass
    await service.close()

    (call,) = _client_spans(list(spans.get_finished_spans()))
    assert call.status.status_code is StatusCode.ERROR
    assert (call.attributes or {})["error.type"] == "ConnectError"
    assert (call.attributes or {})[attr.RUN_ID] == "r-err"


async def test_client_run_error_event_marks_the_span(server: AGUIServer, spans: InMemorySpanExporter) -> None:
    service = AGUIHttpService(f"{server.base_url}/agent")
    message = {"id": "m-1", "role": "user", "content": "overloaded?"}
    events = [event async for event in service.post_run(thread_id="t-bad", run_id="r-bad", messages=[message])]
    await service.close()

    assert events and events[-1]["type"] == "RUN_ERROR"
    (call,) = _client_spans(server.finished_spans(spans))
    assert call.status.status_code is StatusCode.ERROR
    assert (call.attributes or {})["error.type"] == (events[-1].get("code") or "RUN_ERROR")


async def test_client_suppressed_instrumentation_passes_through(
    server: AGUIServer, spans: InMemorySpanExporter
) -> None:
    client = AGUIChatClient(endpoint=f"{server.base_url}/agent")
    with suppress_instrumentation():
        response = await _ask(client, "quiet-thread", "hello")
    await client.close()
    assert response.text == "assistant: hello"
    assert _client_spans(server.finished_spans(spans)) == []


async def test_client_spans_use_the_given_tracer_provider(
    tracer_provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    own = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(own))
    instrumentor = AGUIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with AGUIServer(make_app()) as server:
            client = AGUIChatClient(endpoint=f"{server.base_url}/agent")
            await _ask(client, "own-provider-thread", "hello")
            await client.close()
    finally:
        instrumentor.uninstrument()
    assert [span.name for span in own.get_finished_spans()] == ["invoke_agent"]
    assert _client_spans(list(spans.get_finished_spans())) == []


async def test_agent_on_agui_client_nests_the_remote_run(server: AGUIServer, spans: InMemorySpanExporter) -> None:
    """``Agent(AGUIChatClient(...))``: the remote AG-UI run is nested in the local agent's run."""
    agent = Agent(AGUIChatClient(endpoint=f"{server.base_url}/agent"), name="frontdesk")
    session = agent.create_session()
    response = await agent.run("weather in Paris?", session=session)
    assert response.text == "Forecast: sunny in Paris"

    finished = server.finished_spans(spans)
    (call,) = _client_spans(finished)
    (local,) = [span for span in finished if span.name == "invoke_agent frontdesk"]
    local_run = (local.attributes or {})[attr.RUN_ID]
    attributes = call.attributes or {}
    assert attributes[attr.PARENT_RUN_ID] == local_run != attributes[attr.RUN_ID]
    assert attributes[attr.SESSION_ID] == (local.attributes or {})[attr.SESSION_ID]  # the caller's session stays
    (remote,) = server_spans(finished, "/agent")
    assert (remote.attributes or {})[attr.RUN_ID] == attributes[attr.RUN_ID]
    assert (remote.attributes or {})[attr.GEN_AI_CONVERSATION_ID] == attributes[attr.GEN_AI_CONVERSATION_ID]
