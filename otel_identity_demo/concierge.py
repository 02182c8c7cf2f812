"""The concierge service: the users' agent, delegating over A2A (``python -m otel_identity_demo.concierge``).

An agent-framework ``Agent`` on the scripted model, with tools that call the flights and
hotels agents through ``agent_framework_a2a.A2AAgent`` (and a2a-sdk's client to cancel a
task), and a tool that runs a multi-city request through an agent-framework-orchestrations
Sequential pipeline (planner, then reviewer) run as an agent, in this process. It plays every
conversation of :data:`otel_identity_demo.script.CONVERSATIONS` at once (``asyncio.gather``),
turn after turn, then exits.

Each turn is its own trace: a root span ``concierge turn`` opened inside the session's scope,
so the root carries ``session.id`` (Phoenix, for one, groups sessions by the root span's
``session.id``). The A2A sessions are named like the concierge's session, so the remote
agents' spans carry the same ``session.id`` (sent in baggage: both servers are trusted peers).
The pipeline's ``AgentSession`` is named so too, though its spans (workflow, executors,
messages, the participants' runs) would carry the concierge's session anyway: by otel-identity's
nesting rule, a run nested in another keeps the outer conversation.

Configuration arrives as one JSON line on stdin (the runner starts this process while the
servers are still starting): ``{"flights": url, "hotels": url, "run_tag": tag, "pace": seconds}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from opentelemetry import context as context_api
from opentelemetry import trace

from otel_identity_demo._logging import demo_logger
from otel_identity_demo._process import EXIT_USAGE, quiet_logs, read_line, shut_down, stop_when_asked, tell
from otel_identity_demo._telemetry import setup_tracing
from otel_identity_demo.script import (
    CONCIERGE_DEFAULT,
    CONVERSATIONS,
    ITINERARY_DEFAULT,
    PIPELINE,
    PIPELINE_PARTICIPANTS,
    Conversation,
    concierge_rules,
    itinerary_rules,
    route,
    session_id,
)

__all__ = ["itinerary_pipeline", "main"]

SERVICE: Final = "concierge"
_log = demo_logger(SERVICE)
TURN_SPAN: Final = "concierge turn"
_EXIT_INTERRUPTED: Final = 130


def itinerary_pipeline(client: Any) -> Any:
    """The Sequential pipeline (planner, then reviewer) on ``client``, run as the agent :data:`PIPELINE`."""
    from agent_framework import Agent, tool
    from agent_framework_orchestrations import SequentialBuilder

    planner_name, reviewer_name = PIPELINE_PARTICIPANTS
    planner = Agent(
        client, name=planner_name, instructions="Route a multi-city trip.", tools=[tool(route, name="route")]
    )
    reviewer = Agent(client, name=reviewer_name, instructions="Review the plan.")
    # ensure_trailing_user_turn: the reviewer's last user message is "please continue." (see script.py).
    # output_from="all": the answer holds the plan and its review.
    workflow = SequentialBuilder(
        name=PIPELINE, participants=[planner, reviewer], ensure_trailing_user_turn=True, output_from="all"
    ).build()
    return workflow.as_agent(PIPELINE)


class Delegates:
    """The remote agents and the pipeline as one session's tools; their sessions share the concierge's id."""

    def __init__(self, flights: Any, hotels: Any, itinerary_client: Any, session: str) -> None:
        self._flights = flights
        self._hotels = hotels
        self._session = session
        self._flights_session = flights.create_session(session_id=session)
        self._hotels_session = hotels.create_session(session_id=session)
        self._itinerary_client = itinerary_client
        self._itinerary: tuple[Any, Any] | None = None
        self._search_task: str | None = None

    async def plan_itinerary(self, request: str) -> str:
        """Plan a multi-city trip with the pipeline (its session keeps the plan for the next turn)."""
        if self._itinerary is None:
            # Built at first use, in the turn: the framework's workflow.build span is part of the session.
            # One pipeline per conversation: a workflow runs one request at a time.
            pipeline = itinerary_pipeline(self._itinerary_client)
            self._itinerary = pipeline, pipeline.create_session(session_id=self._session)
        pipeline, session = self._itinerary
        response = await pipeline.run(request, session=session)
        return " ".join(message.text for message in response.messages if message.text)

    async def ask_flights(self, request: str) -> str:
        """Ask the flights agent (one A2A request, not streamed)."""
        response = await self._flights.run(request, session=self._flights_session)
        return _outcome(self._flights_session, str(response.text))

    async def ask_hotels(self, request: str) -> str:
        """Ask the hotels agent (A2A streaming)."""
        stream = self._hotels.run(request, session=self._hotels_session, stream=True)
        async for _ in stream:
            pass
        response = await stream.get_final_response()
        if _task_state(self._hotels_session) == "TASK_STATE_INPUT_REQUIRED":
            _log.info("hotels asked for the dates; the next turn retries the same task with them")
        return _outcome(self._hotels_session, str(response.text))

    async def start_flight_search(self, request: str) -> str:
        """Start a long flight search in the background; its task keeps working after this turn."""
        response = await self._flights.run(request, session=self._flights_session, background=True)
        token = response.continuation_token
        self._search_task = token["task_id"] if token else None
        return "I started a search for every flight; it takes a while." if token else str(response.text)

    async def cancel_flight_search(self) -> str:
        """Cancel the background search (a2a-sdk ``CancelTask``)."""
        from a2a.types import CancelTaskRequest, TaskState

        if self._search_task is None:
            return "There is no search to cancel."
        task = await self._flights.client.cancel_task(CancelTaskRequest(id=self._search_task))
        self._search_task = None
        return f"Search cancelled ({TaskState.Name(task.status.state)})."

    def tools(self) -> list[Any]:
        from agent_framework import tool

        return [
            tool(self.ask_flights, name="ask_flights"),
            tool(self.ask_hotels, name="ask_hotels"),
            tool(self.start_flight_search, name="start_flight_search"),
            tool(self.cancel_flight_search, name="cancel_flight_search"),
            tool(self.plan_itinerary, name="plan_itinerary"),
        ]


def _task_state(session: Any) -> str | None:
    """The state of the remote task the session holds, by name (A2AAgent keeps the raw enum)."""
    from a2a.types import TaskState

    service = session.service_session_id
    state = service.get("task_state") if isinstance(service, Mapping) else None
    return TaskState.Name(state) if isinstance(state, int) else None


def _outcome(session: Any, text: str) -> str:
    """The remote agent's answer, or what happened to its task when it failed (A2AAgent does not raise)."""
    from a2a.types import TaskState

    service = session.service_session_id
    state = service.get("task_state") if isinstance(service, Mapping) else None
    if state == TaskState.TASK_STATE_FAILED:
        _log.error("remote task %s failed; the user gets an apology", service.get("task_id"))
        return "sorry, that did not work (the task failed)."
    return text


async def _turn(agent: Any, session: Any, text: str, *, stream: bool) -> str:
    if not stream:
        return str((await agent.run(text, session=session)).text)
    response_stream = agent.run(text, session=session, stream=True)
    async for _ in response_stream:
        pass
    return str((await response_stream.get_final_response()).text)


async def _converse(
    conversation: Conversation,
    *,
    client: Any,
    itinerary_client: Any,
    flights: Any,
    hotels: Any,
    run_tag: str,
    pace: float,
) -> None:
    from agent_framework import Agent

    from otel_identity import session_scope

    session = session_id(conversation, run_tag)
    delegates = Delegates(flights, hotels, itinerary_client, session)
    agent = Agent(
        client,
        name=SERVICE,
        instructions="Plan trips with the flights and hotels agents and the itinerary pipeline.",
        tools=delegates.tools(),
    )
    agent_session = agent.create_session(session_id=session)
    tracer = trace.get_tracer("otel_identity_demo")
    for index, turn in enumerate(conversation.turns, start=1):
        if index > 1 and pace > 0:
            await asyncio.sleep(pace)  # --pace: time to watch the traces arrive in a live UI
        with session_scope(session, user_id=conversation.user):
            # A root span in the session's scope: no parent span, but the identities in scope.
            parent = trace.set_span_in_context(trace.INVALID_SPAN, context_api.get_current())
            with tracer.start_as_current_span(TURN_SPAN, context=parent, kind=trace.SpanKind.SERVER) as span:
                span.set_attribute("otel_identity.demo.turn", index)
                answer = await _turn(agent, agent_session, turn.text, stream=turn.stream)
        tell("TURN", session, index, len(conversation.turns), json.dumps(turn.text), json.dumps(answer))


async def _play(flights_url: str, hotels_url: str, run_tag: str, pace: float) -> None:
    import httpx
    from a2a.client import A2ACardResolver
    from agent_framework_a2a import A2AAgent

    from otel_identity_testing.scripted_chat import ScriptedChatClient

    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        flights_card, hotels_card = await asyncio.gather(
            A2ACardResolver(http, flights_url).get_agent_card(), A2ACardResolver(http, hotels_url).get_agent_card()
        )
        flights = A2AAgent(agent_card=flights_card, http_client=http)
        hotels = A2AAgent(agent_card=hotels_card, http_client=http)
        client = ScriptedChatClient(mode="responses", rules=concierge_rules(), default_answer=CONCIERGE_DEFAULT)
        # The pipeline's model: a chat-completions one ("local"), so its ids (chatcmpl-*) never meet the concierge's.
        itinerary_client = ScriptedChatClient(mode="local", rules=itinerary_rules(), default_answer=ITINERARY_DEFAULT)
        await asyncio.gather(
            *(
                _converse(
                    conversation,
                    client=client,
                    itinerary_client=itinerary_client,
                    flights=flights,
                    hotels=hotels,
                    run_tag=run_tag,
                    pace=pace,
                )
                for conversation in CONVERSATIONS
            )
        )


def _peer(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


async def _main(config: dict[str, str]) -> None:
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()

    def stop() -> None:
        loop.call_soon_threadsafe(main_task.cancel)

    stop_when_asked(stop)
    await _play(config["flights"], config["hotels"], config["run_tag"], float(config.get("pace", 0)))


def main(argv: Sequence[str] | None = None) -> int:
    quiet_logs()
    parser = argparse.ArgumentParser(prog="python -m otel_identity_demo.concierge")
    parser.add_argument("--output", default=None, help="append spans as OTLP/JSON to this file")
    args = parser.parse_args(argv)
    line = read_line()
    if not line:
        return _EXIT_INTERRUPTED  # the runner stopped before the servers were ready
    try:
        config = json.loads(line)
        peers = [_peer(config["flights"]), _peer(config["hotels"])]
    except (ValueError, KeyError, TypeError) as error:
        tell("ERROR", f"bad configuration line: {error}")
        return EXIT_USAGE
    provider, delivery = setup_tracing(SERVICE, output=args.output, trusted_peers=peers)
    try:
        asyncio.run(_main(config))
    except (asyncio.CancelledError, KeyboardInterrupt):
        return _EXIT_INTERRUPTED
    finally:
        shut_down(provider, delivery)
    tell("DONE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
