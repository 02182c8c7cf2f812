"""Runs that stop half-way leave nothing behind: no open span, no attached identity, no stale session.

A streamed run abandoned after its first update, a stream whose consumer is cancelled
while a tool runs, a non-streamed run whose task is cancelled mid-run; then the *same*
asyncio task (or thread) goes on with another session. Every span of the stopped run
ends, the task's context holds no identity, and the next run's spans carry only the next
session. Real agent-framework agents on the scripted model, the framework's telemetry on
and off.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from agent_framework import Agent, tool
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer
from reliability_support import OpenSpans, expected_answer

from otel_identity import attributes as attr
from otel_identity import get_identities, session_scope
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

FRAMEWORK = pytest.mark.parametrize("framework_telemetry", [True, False], indirect=True, ids=["af-on", "af-off"])
pytestmark = pytest.mark.usefixtures("af_instrumented")


class Held:
    """A tool that blocks until released, and says when it started (so tests cancel on an event)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

        @tool(name="hold")
        async def hold(city: str) -> str:
            """Blocks until released."""
            self.started.set()
            await self.release.wait()
            return city

        self.tool = hold


def _agent(held: Held) -> Any:
    client = ScriptedChatClient(
        mode="responses",
        rules=[
            Rule("hold", tool="hold", arguments={"city": "Oslo"}, answer="held: {result}"),
            Rule("story", answer="once upon a time there was a long story with many words"),
        ],
    )
    return Agent(client, name="concierge", tools=[held.tool])


def _sessions(spans: list[ReadableSpan]) -> set[object]:
    return {(span.attributes or {}).get(attr.SESSION_ID) for span in spans}


async def _next_run_is_clean(agent: Any, spans: InMemorySpanExporter, tracer: Tracer) -> None:
    """In the current task: no identity attached; the next run and a later span carry no stale session."""
    assert get_identities() is None
    spans.clear()
    session = agent.create_session(session_id="session-next")
    response = await agent.run("hello again", session=session)
    assert response.text == expected_answer("hello again")
    with tracer.start_as_current_span("after the runs"):
        pass
    finished = list(spans.get_finished_spans())
    after = [span for span in finished if span.name == "after the runs"]
    run_spans = [span for span in finished if span.name != "after the runs"]
    assert run_spans and _sessions(run_spans) == {"session-next"}
    assert _sessions(after) == {None}
    assert get_identities() is None


@FRAMEWORK
@pytest.mark.parametrize("how", ["close", "garbage-collected"])
async def test_stream_abandoned_half_way(
    framework_telemetry: bool, how: str, spans: InMemorySpanExporter, tracer: Tracer, open_spans: OpenSpans
) -> None:
    agent = _agent(Held())

    async def worker() -> None:
        stream = agent.run("tell me a story", session=agent.create_session(session_id="session-old"), stream=True)
        async for update in stream:
            assert update.text
            assert get_identities() is None  # the consumer's context never holds the run's identity
            break
        if how == "close":
            await stream.close()
        del stream
        gc.collect()
        assert open_spans.names() == []
        await _next_run_is_clean(agent, spans, tracer)

    await asyncio.create_task(worker())
    assert open_spans.names() == []


@FRAMEWORK
async def test_stream_cancelled_half_way(
    framework_telemetry: bool, spans: InMemorySpanExporter, tracer: Tracer, open_spans: OpenSpans
) -> None:
    held = Held()
    agent = _agent(held)
    updates: list[Any] = []

    async def worker() -> None:
        try:
            async for update in agent.run(
                "hold on", session=agent.create_session(session_id="session-old"), stream=True
            ):
                updates.append(update)
        except asyncio.CancelledError:
            # The same task carries on with the next run, as a server's worker task would.
            gc.collect()
            assert open_spans.names() == []
            await _next_run_is_clean(agent, spans, tracer)
            raise

    task = asyncio.create_task(worker())
    await held.started.wait()  # half-way: the model asked for the tool, the tool is running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert updates, "the stream delivered updates before it was cancelled"
    assert open_spans.names() == []
    assert get_identities() is None


@FRAMEWORK
async def test_task_cancelled_mid_run(
    framework_telemetry: bool, spans: InMemorySpanExporter, tracer: Tracer, open_spans: OpenSpans
) -> None:
    held = Held()
    agent = _agent(held)
    cancelled_run: list[ReadableSpan] = []

    async def worker() -> None:
        try:
            await agent.run("hold on", session=agent.create_session(session_id="session-old"))
        except asyncio.CancelledError:
            gc.collect()
            assert open_spans.names() == []
            cancelled_run.extend(spans.get_finished_spans())
            await _next_run_is_clean(agent, spans, tracer)
            raise

    task = asyncio.create_task(worker())
    await held.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert any(span.name.startswith("invoke_agent") for span in cancelled_run)
    assert _sessions(cancelled_run) == {"session-old"}
    assert open_spans.names() == []


# region threads and generators (no framework)


def test_generator_abandoned_in_a_thread(spans: InMemorySpanExporter, tracer: Tracer, open_spans: OpenSpans) -> None:
    """A scoped generator dropped half-way, then more work in the same thread: no stale session."""

    @session_scope("session-old")
    def records() -> Iterator[int]:
        for index in range(10):
            with tracer.start_as_current_span("produce"):
                yield index

    seen: dict[str, Any] = {}

    def thread_body() -> None:
        stream = records()
        seen["first"] = next(stream)
        seen["inside"] = get_identities()
        del stream
        gc.collect()
        with tracer.start_as_current_span("next work"):
            seen["after"] = get_identities()

    thread = threading.Thread(target=thread_body)
    thread.start()
    thread.join(timeout=30)

    assert seen["first"] == 0
    assert seen["inside"] is None and seen["after"] is None
    by_name = {span.name: span for span in spans.get_finished_spans()}
    assert (by_name["produce"].attributes or {})[attr.SESSION_ID] == "session-old"
    assert attr.SESSION_ID not in (by_name["next work"].attributes or {})
    assert open_spans.names() == []


async def test_scoped_async_generator_cancelled_mid_pull(
    spans: InMemorySpanExporter, tracer: Tracer, open_spans: OpenSpans
) -> None:
    waiting = asyncio.Event()

    @session_scope("session-old")
    async def updates() -> Any:
        with tracer.start_as_current_span("produce"):
            yield 1
            waiting.set()
            await asyncio.Event().wait()  # until cancelled
            yield 2

    async def worker() -> None:
        try:
            async for _ in updates():
                pass
        except asyncio.CancelledError:
            assert get_identities() is None
            with tracer.start_as_current_span("next work"):
                pass
            raise

    task = asyncio.create_task(worker())
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    by_name = {span.name: span for span in spans.get_finished_spans()}
    assert (by_name["produce"].attributes or {})[attr.SESSION_ID] == "session-old"
    assert attr.SESSION_ID not in (by_name["next work"].attributes or {})
    assert open_spans.names() == []


# endregion
