"""Streaming runs: every way to consume a ``ResponseStream``, early break, cancel, other tasks.

The run's identities are attached around each pull only: the consumer's own context never
holds them, not between updates, not after a break or a cancel.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from af_support import TURNS, attrs, descendants, make_agent, named, response_span
from agent_framework import Agent, AgentContext, AgentMiddleware, ResponseStream, tool
from agent_framework.observability import _TELEMETRY_CONVERSATION_ID
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_identity import attributes as attr
from otel_identity import get_identities
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

pytestmark = pytest.mark.usefixtures("instrumentor")

FRAMEWORK = pytest.mark.parametrize("framework_telemetry", [True, False], indirect=True, ids=["af-on", "af-off"])


def _assert_caller_context_clean() -> None:
    assert get_identities() is None
    assert _TELEMETRY_CONVERSATION_ID.get() is None


def _assert_run_identity(spans: InMemorySpanExporter, session_id: str) -> list[Any]:
    finished = spans.get_finished_spans()
    runs = named(finished, "invoke_agent")
    assert runs
    for run in runs:
        for span in descendants(finished, run):
            assert attrs(span)[attr.SESSION_ID] == session_id, span.name
            assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == session_id, span.name
            assert attrs(span)[attr.RUN_ID] == attrs(run)[attr.RUN_ID], span.name
    return runs


async def _iterate(stream: ResponseStream[Any, Any]) -> Any:
    texts = []
    async for update in stream:
        _assert_caller_context_clean()
        texts.append(update.text)
    assert len(texts) > 1, "the scripted client streams several updates"
    return await stream.get_final_response()


async def _await_then_final(stream: ResponseStream[Any, Any]) -> Any:
    resolved = await stream
    _assert_caller_context_clean()
    return await resolved.get_final_response()


async def _final_only(stream: ResponseStream[Any, Any]) -> Any:
    return await stream.get_final_response()


async def _in_another_task(stream: ResponseStream[Any, Any]) -> Any:
    return await asyncio.create_task(_iterate(stream))


@FRAMEWORK
@pytest.mark.parametrize("consume", [_iterate, _await_then_final, _final_only, _in_another_task])
async def test_each_way_of_consuming_a_stream(
    spans: InMemorySpanExporter, framework_telemetry: bool, consume: Any
) -> None:
    agent = make_agent("responses")
    session = agent.create_session(session_id="session-42")

    for turn in TURNS:
        stream = agent.run(turn, session=session, stream=True)
        _assert_caller_context_clean()
        response = await consume(stream)
        _assert_caller_context_clean()
        assert response.text

    runs = _assert_run_identity(spans, "session-42")
    assert len(runs) == 3
    finished = spans.get_finished_spans()
    for run in runs:
        response_ids = {attrs(span).get(attr.GEN_AI_RESPONSE_ID) for span in descendants(finished, run)} - {None}
        assert response_ids and all(str(value).startswith("resp_") for value in response_ids)
        for response_id in response_ids:
            response_span(finished, run, str(response_id))


@FRAMEWORK
@pytest.mark.parametrize("close", ["close", "async-with", "garbage-collected"])
async def test_early_break_leaves_nothing_behind(
    spans: InMemorySpanExporter, framework_telemetry: bool, close: str
) -> None:
    agent = make_agent("responses", rules=[Rule("story", answer="once upon a time there was a long story")])
    session = agent.create_session(session_id="session-42")

    stream = agent.run("tell me a story", session=session, stream=True)
    if close == "async-with":
        async with stream:
            async for _ in stream:
                break
    else:
        async for _ in stream:
            break
        if close == "close":
            await stream.close()
        else:
            del stream
            gc.collect()

    _assert_caller_context_clean()
    (run,) = _assert_run_identity(spans, "session-42")
    assert run.end_time is not None


@FRAMEWORK
async def test_cancelled_stream_leaves_nothing_behind(spans: InMemorySpanExporter, framework_telemetry: bool) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    @tool(name="slow_lookup")
    async def slow_lookup(city: str) -> str:
        """Blocks until released."""
        started.set()
        await release.wait()
        return city

    client = ScriptedChatClient(rules=[Rule("slow", tool="slow_lookup", arguments={"city": "Oslo"})])
    agent = Agent(client, name="concierge", tools=[slow_lookup])
    session = agent.create_session(session_id="session-42")

    async def consume() -> None:
        async for _ in agent.run("slow please", session=session, stream=True):
            pass

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    _assert_caller_context_clean()
    finished = spans.get_finished_spans()
    (run,) = _assert_run_identity(spans, "session-42")
    assert named(descendants(finished, run), "execute_tool slow_lookup") or not framework_telemetry
    if not framework_telemetry:
        assert attrs(run)["error.type"] == "CancelledError"


@FRAMEWORK
async def test_stream_failure_passes_through_and_marks_the_run(
    spans: InMemorySpanExporter, framework_telemetry: bool
) -> None:
    failure = ConnectionError("model unreachable")
    agent = make_agent("responses", rules=[Rule("boom", raises=failure)])
    session = agent.create_session(session_id="session-42")

    stream = agent.run("boom", session=session, stream=True)
    with pytest.raises(ConnectionError) as raised:
        async for _ in stream:
            pass

    assert raised.value is failure
    _assert_caller_context_clean()
    (run,) = _assert_run_identity(spans, "session-42")
    assert attrs(run)["error.type"] == "ConnectionError"
    assert attr.GEN_AI_RESPONSE_ID not in attrs(run)


@FRAMEWORK
async def test_buffered_stream_still_records_its_result(spans: InMemorySpanExporter, framework_telemetry: bool) -> None:
    class Buffering(AgentMiddleware):
        async def process(self, context: AgentContext, call_next: Any) -> None:
            context.stream_buffer_updates = True
            await call_next()

    agent = make_agent("responses", middleware=[Buffering()])
    session = agent.create_session(session_id="session-42")

    response = await _iterate(agent.run(TURNS[1], session=session, stream=True))

    (run,) = _assert_run_identity(spans, "session-42")
    response_span(spans.get_finished_spans(), run, response.response_id or "")
