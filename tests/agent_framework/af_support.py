"""Shared pieces of the agent-framework tests: agents on the scripted client, span queries, an A2A server.

Everything is real: agent-framework ``Agent`` objects, the OpenTelemetry SDK, a2a-sdk servers
over HTTP on 127.0.0.1. Only the model is the deterministic
:class:`~otel_identity_testing.scripted_chat.ScriptedChatClient`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import httpx
from a2a.helpers import new_task_from_user_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import AgentCard, Part
from agent_framework import Agent, AgentResponse, AgentSession, tool
from agent_framework.observability import OBSERVABILITY_SETTINGS
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from otel_identity import attributes as attr
from otel_identity_testing.a2a import agent_card as testing_card
from otel_identity_testing.a2a import jsonrpc_app
from otel_identity_testing.scripted_chat import Mode, Rule, ScriptedChatClient
from otel_identity_testing.servers import listening_socket, serve_in_loop

TURNS: Final = ("hello there", "what is the weather in Paris?", "thanks, bye")
"""A 3-turn conversation; the second turn calls the ``get_weather`` tool."""

IDENTITY_KEYS: Final = (attr.SESSION_ID, attr.GEN_AI_CONVERSATION_ID, attr.RUN_ID)


@tool
def get_weather(city: str) -> str:
    """Weather for a city (opens a span of its own, like an HTTP call would)."""
    with trace.get_tracer("weather-service").start_as_current_span("weather lookup"):
        return f"sunny in {city}"


def weather_rules(**extra: Any) -> list[Rule]:
    return [
        Rule("weather", tool="get_weather", arguments={"city": "Paris"}, answer="Forecast: {result}"),
        *extra.get("rules", []),
    ]


def make_agent(mode: Mode = "responses", *, rules: Sequence[Rule] | None = None, **kwargs: Any) -> Agent[Any]:
    client = ScriptedChatClient(mode=mode, rules=list(rules) if rules is not None else weather_rules())
    return Agent(client, name="concierge", id="concierge-1", tools=[get_weather], **kwargs)


async def run_turn(agent: Any, message: str, session: AgentSession | None, *, stream: bool, **kwargs: Any) -> Any:
    """One run, non-streaming or streaming (iterated to the end, then finalized)."""
    if not stream:
        return await agent.run(message, session=session, **kwargs)
    response_stream = agent.run(message, session=session, stream=True, **kwargs)
    async for _ in response_stream:
        pass
    return await response_stream.get_final_response()


def named(spans: Iterable[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name.startswith(prefix)]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def descendants(spans: Sequence[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    """``root`` and every span below it."""
    by_parent: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        if span.parent is not None:
            by_parent.setdefault(span.parent.span_id, []).append(span)
    found = [root]
    index = 0
    while index < len(found):
        found.extend(by_parent.get(found[index].context.span_id, []))
        index += 1
    return found


def parent_name(spans: Sequence[ReadableSpan], span: ReadableSpan) -> str | None:
    if span.parent is None:
        return None
    for candidate in spans:
        if candidate.context.span_id == span.parent.span_id:
            return candidate.name
    return None


def response_text(response: AgentResponse[Any]) -> str:
    return response.text


# region A2A server


class AskFirstExecutor(AgentExecutor):
    """A minimal a2a-sdk executor: asks for input when told "ask", fails on "fail", works until
    ``release`` is set on "wait", completes otherwise.

    It keeps what each request carried (``received``) and signals ``done`` after every execute,
    so tests wait on events, never on time.
    """

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.done = asyncio.Event()
        self.working = asyncio.Event()
        self.release = asyncio.Event()

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        try:
            message = context.message
            assert message is not None
            self.received.append(
                {
                    "task_id": message.task_id,
                    "context_id": message.context_id,
                    "reference_task_ids": list(message.reference_task_ids),
                    "text": context.get_user_input(),
                }
            )
            task = context.current_task
            if task is None:
                task = new_task_from_user_message(message)
                await event_queue.enqueue_event(task)
            updater = TaskUpdater(event_queue, task.id, task.context_id)
            text = context.get_user_input()
            with trace.get_tracer("remote-agent").start_as_current_span("remote work"):
                if "ask" in text:
                    await updater.requires_input(updater.new_agent_message([Part(text="Which city?")]))
                elif "fail" in text:
                    await updater.failed(updater.new_agent_message([Part(text="cannot do that")]))
                elif "wait" in text:
                    await updater.start_work()
                    self.working.set()
                    await self.release.wait()
                    await updater.add_artifact([Part(text="done waiting")], artifact_id="artifact-1")
                    await updater.complete()
                else:
                    await updater.add_artifact([Part(text=f"booked: {text}")], artifact_id="artifact-1")
                    await updater.complete()
        finally:
            self.done.set()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        return None


class SignalingExecutor(AgentExecutor):
    """Wraps another executor and sets ``done`` once each of its executions has finished."""

    def __init__(self, inner: AgentExecutor) -> None:
        self.inner = inner
        self.done = asyncio.Event()

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        try:
            await self.inner.execute(context, event_queue)
        finally:
            self.done.set()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        await self.inner.cancel(context, event_queue)


def agent_card(name: str, url: str) -> AgentCard:
    return testing_card(name, url, description=f"{name} agent", skill="books things", tags=("travel",))


@asynccontextmanager
async def a2a_server(executor: AgentExecutor, *, name: str = "flights") -> AsyncIterator[AgentCard]:
    """Serve ``executor`` over JSON-RPC on 127.0.0.1 (ephemeral port) in this event loop.

    The socket is bound and listening before uvicorn starts, so clients can connect at once
    (the kernel queues them): no start-up wait. The server task starts from an empty context,
    so nothing of the test's context leaks into the server's requests.
    """
    sock = listening_socket()
    card = agent_card(name, f"http://127.0.0.1:{sock.getsockname()[1]}/")
    try:
        async with serve_in_loop(jsonrpc_app(executor, card), sock):
            yield card
    finally:
        sock.close()


@asynccontextmanager
async def a2a_agent(card: AgentCard) -> AsyncIterator[Any]:
    from agent_framework_a2a import A2AAgent

    async with httpx.AsyncClient() as http:
        yield A2AAgent(agent_card=card, http_client=http)


# endregion


def response_span(finished: Sequence[ReadableSpan], run: ReadableSpan, response_id: str) -> ReadableSpan:
    """The one span in ``run``'s tree that carries ``response_id``: the span of the operation that produced it.

    That is the framework's ``chat`` span when its telemetry is on (it leaves ``invoke_agent``
    without the id), else our own run span. Fails when none or several carry it.
    """
    carriers = [span for span in descendants(finished, run) if attrs(span).get(attr.GEN_AI_RESPONSE_ID) == response_id]
    assert len(carriers) == 1, [span.name for span in carriers]
    expected = "chat " if OBSERVABILITY_SETTINGS.ENABLED else "invoke_agent"
    assert carriers[0].name.startswith(expected), carriers[0].name
    return carriers[0]
