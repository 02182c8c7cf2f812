"""A thousand sessions at once: zero cross-talk.

agent-framework: 1,000 sessions run concurrently on one event loop, two turns each (a
streamed greeting, then a question that calls an async tool), interleaving at every await.
Every span of every run must carry its own session and run id, nothing else.

A2A: 1,000 distinct sessions call one real a2a-sdk server on 127.0.0.1 (bounded concurrency,
the server on its own thread and loop). The caller's session travels to the trusted peer:
the server span and the executor's spans must carry the caller's session, and the
executor's scope must be the request's own task and conversation.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Final

import httpx
import pytest
from a2a.client import ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import SendMessageRequest, TaskState
from agent_framework import Agent, tool
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from reliability_support import Recorder

from otel_identity import attributes as attr
from otel_identity import session_scope
from otel_identity_testing.a2a import EchoA2AServer, user_message
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

SESSIONS: Final = 1_000
A2A_CONCURRENCY: Final = 32


@tool(name="get_weather")
async def get_weather(city: str) -> str:
    """Weather for a city; yields to the event loop like real I/O."""
    await asyncio.sleep(0)
    return f"sunny in {city}"


@pytest.mark.usefixtures("af_instrumented")
async def test_thousand_concurrent_agent_framework_sessions(spans: InMemorySpanExporter) -> None:
    client = ScriptedChatClient(
        mode="responses",
        rules=[Rule("weather", tool="get_weather", arguments={"city": "Paris"}, answer="Forecast: {result}")],
        chunk_words=1,
    )
    agent = Agent(client, name="concierge", tools=[get_weather])
    start = asyncio.Event()

    async def session(index: int) -> tuple[str, str]:
        name = f"session-{index:04d}"
        af_session = agent.create_session(session_id=name)
        await start.wait()  # all sessions begin together
        stream = agent.run(f"hello from {name}", session=af_session, stream=True)
        async for _ in stream:
            await asyncio.sleep(0)
        greeting = (await stream.get_final_response()).text
        answer = (await agent.run("what is the weather in Paris?", session=af_session)).text
        return greeting, answer

    tasks = [asyncio.create_task(session(index)) for index in range(SESSIONS)]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)

    assert results == [
        (f"You said: hello from session-{index:04d}", "Forecast: sunny in Paris") for index in range(SESSIONS)
    ]
    by_trace: dict[int, list[Any]] = defaultdict(list)
    for span in spans.get_finished_spans():
        by_trace[span.context.trace_id].append(span)
    runs_per_session: dict[str, int] = defaultdict(int)
    for trace_spans in by_trace.values():
        (root,) = [span for span in trace_spans if span.parent is None]
        assert root.name.startswith("invoke_agent")
        root_attributes = dict(root.attributes or {})
        session_id, run_id = root_attributes[attr.SESSION_ID], root_attributes[attr.RUN_ID]
        runs_per_session[str(session_id)] += 1
        for span in trace_spans:
            attributes = dict(span.attributes or {})
            assert attributes.get(attr.SESSION_ID) == session_id, span.name
            assert attributes.get(attr.GEN_AI_CONVERSATION_ID) == session_id, span.name
            assert attributes.get(attr.RUN_ID) == run_id, span.name
    assert runs_per_session == {f"session-{index:04d}": 2 for index in range(SESSIONS)}
    tool_spans = [span for span in spans.get_finished_spans() if span.name.startswith("execute_tool")]
    assert len(tool_spans) == SESSIONS


@pytest.mark.usefixtures("a2a_instrumented")
async def test_thousand_sessions_against_one_a2a_server(
    spans: InMemorySpanExporter, recorder: Recorder, trust: Any
) -> None:
    with EchoA2AServer() as server:
        trust([f"127.0.0.1:{server.port}"])
        recorder.start("SendMessage", "agent.work")
        limit = asyncio.Semaphore(A2A_CONCURRENCY)
        contexts: dict[str, str] = {}

        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=A2A_CONCURRENCY)) as http:
            config = ClientConfig(streaming=False, httpx_client=http, supported_protocol_bindings=["JSONRPC"])
            client = ClientFactory(config).create(server.card)

            async def session(index: int) -> None:
                name = f"a2a-session-{index:04d}"
                async with limit:
                    with session_scope(name):
                        events = [
                            event
                            async for event in client.send_message(
                                SendMessageRequest(message=user_message(f"book for {name}"))
                            )
                        ]
                (event,) = events
                assert event.task.status.state == TaskState.TASK_STATE_COMPLETED
                contexts[event.task.context_id] = name
                if index % 100 == 99:
                    spans.clear()  # a2a-sdk's own ~50 spans per request: keep memory flat

            await asyncio.gather(*(session(index) for index in range(SESSIONS)))
        seen = recorder.stop()
        executor_scopes = dict(server.executor.seen)

    assert len(contexts) == SESSIONS  # 1,000 distinct sessions, one conversation each
    for name in contexts.values():
        identities = executor_scopes[f"book for {name}"]
        assert identities is not None and identities.session_id == name
        assert contexts[str(identities.conversation_id)] == name
        assert identities.task is not None

    servers = [record for record in seen if record.name == "SendMessage" and record.kind == "SERVER"]
    clients = [record for record in seen if record.name == "SendMessage" and record.kind == "CLIENT"]
    work = [record for record in seen if record.name == "agent.work"]
    assert len(servers) == len(clients) == len(work) == SESSIONS
    client_session = {record.trace_id: record.attributes[attr.SESSION_ID] for record in clients}
    assert len(set(client_session.values())) == SESSIONS
    for record in [*servers, *work]:
        session_id = record.attributes[attr.SESSION_ID]
        assert session_id == client_session[record.trace_id], record
        assert contexts[record.attributes[attr.GEN_AI_CONVERSATION_ID]] == session_id, record
