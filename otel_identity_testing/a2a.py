"""a2a-sdk servers for tests and benchmarks: the JSON-RPC app of any executor, and an echo agent.

:func:`agent_card` and :func:`jsonrpc_app` build what a2a-sdk documents for a server (an
agent card route and a JSON-RPC route on a Starlette app); :class:`EchoA2AServer` serves the
minimal :class:`EchoExecutor` (create the task, add an artifact, complete) on 127.0.0.1 in a
thread of its own, like a separate service.
"""

from __future__ import annotations

from typing import Any

from a2a.helpers import new_task_from_user_message, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Part, Role
from opentelemetry import trace
from starlette.applications import Starlette

from otel_identity import Identities, get_identities
from otel_identity_testing.servers import ServerThread

__all__ = ["EchoA2AServer", "EchoExecutor", "agent_card", "jsonrpc_app", "user_message"]


def agent_card(
    name: str,
    url: str,
    *,
    description: str = "Echoes what it is told.",
    skill: str = "Echo the request.",
    tags: tuple[str, ...] = ("test",),
) -> AgentCard:
    """A streaming-capable card for one JSON-RPC interface at ``url``."""
    return AgentCard(
        name=name,
        description=description,
        version="1.0.0",
        default_input_modes=["text"],
        default_output_modes=["text"],
        capabilities=AgentCapabilities(streaming=True),
        skills=[AgentSkill(id=name, name=name, description=skill, tags=list(tags))],
        supported_interfaces=[AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")],
    )


def jsonrpc_app(executor: AgentExecutor, card: AgentCard, *, path: str = "/") -> Starlette:
    """``executor`` behind a2a-sdk's default request handler: the card route and JSON-RPC at ``path``."""
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=card)
    return Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, path)])


class EchoExecutor(AgentExecutor):
    """Completes every task with the artifact ``echo: <text>``.

    With ``record=True`` it keeps the identities in scope for each request (by its user text)
    and does its work inside an ``agent.work`` span, so tests can check what the executor's
    spans carry; benchmarks turn that off to measure only the A2A round trip.
    """

    def __init__(self, *, record: bool = True) -> None:
        self.record = record
        self.seen: dict[str, Identities | None] = {}
        """Identities in scope in the executor, by the request's user text (with ``record``)."""
        self._tracer = trace.get_tracer("otel_identity_testing.a2a")

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        if not self.record:
            await self._complete(context, event_queue)
            return
        self.seen[context.get_user_input()] = get_identities()
        with self._tracer.start_as_current_span("agent.work"):
            await self._complete(context, event_queue)

    async def _complete(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is None:
            assert context.message is not None
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.add_artifact([Part(text=f"echo: {context.get_user_input()}")], name="echo")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        return None


class EchoA2AServer(ServerThread):
    """``with EchoA2AServer() as server: server.card``: an echo agent over JSON-RPC until the block exits."""

    def __init__(self, executor: EchoExecutor | None = None) -> None:
        super().__init__(name="a2a-echo")
        self.executor = executor if executor is not None else EchoExecutor()
        self.card = agent_card("echo-agent", f"{self.base_url}/")

    def app(self) -> Starlette:
        return jsonrpc_app(self.executor, self.card)


def user_message(text: str) -> Any:
    """A user message with a fresh message id."""
    return new_text_message(text, role=Role.ROLE_USER)
