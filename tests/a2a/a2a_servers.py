"""Real a2a-sdk servers for the A2A tests, and the agents behind them.

:class:`A2AServer` runs one agent on 127.0.0.1 with ephemeral ports: JSON-RPC and HTTP+JSON
(REST) through uvicorn, gRPC through ``grpc.aio``, all on one event loop in a background
thread (a request handler's tasks are bound to one loop), like a separate service
(:class:`~otel_identity_testing.servers.ServerThread`: start-up waits on an event set by
uvicorn's start-up, never on a sleep). A ``/webhook`` route on the
same app receives push notifications.

Executors:

* :class:`ScriptedExecutor`: a minimal a2a-sdk ``AgentExecutor`` whose behaviour is chosen by
  the user's text (``ask``, ``fail``, ``crash``, ``wait``, ``reply``, anything else completes);
  it opens an ``agent.work`` span so tests can check what the executor's spans carry.
* :func:`framework_executor`: agent-framework's ``A2AExecutor`` with an ``Agent`` on the
  deterministic :class:`~otel_identity_testing.scripted_chat.ScriptedChatClient`.
* :class:`AskFirstExecutor`: ``A2AExecutor`` that first asks for input (``INPUT_REQUIRED``),
  then lets the agent answer the follow-up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any, Final

import grpc
import httpx
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.helpers import new_task_from_user_message, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler, GrpcHandler, RequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes, create_rest_routes
from a2a.server.tasks import (
    BasePushNotificationSender,
    InMemoryPushNotificationConfigStore,
    InMemoryTaskStore,
    TaskUpdater,
)
from a2a.types import a2a_pb2_grpc
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Part, Role, TaskState
from agent_framework import Agent
from agent_framework_a2a import A2AExecutor
from opentelemetry import trace
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from otel_identity import Identities, get_identities
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient
from otel_identity_testing.servers import ServerThread

__all__ = [
    "TRANSPORTS",
    "A2AServer",
    "AskFirstExecutor",
    "ScriptedExecutor",
    "framework_executor",
    "make_client",
    "user_message",
]

TRANSPORTS: Final = ("JSONRPC", "HTTP+JSON", "GRPC")
"""Protocol bindings every server offers; transport-parametrized tests use these ids."""


class A2AServer(ServerThread):
    """An a2a-sdk server on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(
        self,
        executor: AgentExecutor,
        *,
        name: str = "echo-agent",
        description: str = "Echoes what it is told.",
        version: str = "1.2.3",
        handler_class: type[RequestHandler] = DefaultRequestHandler,
        push: bool = False,
    ) -> None:
        super().__init__(name="a2a-server")
        self.executor = executor
        self.grpc_port: int | None = None
        self.card = AgentCard(
            name=name,
            description=description,
            version=version,
            default_input_modes=["text"],
            default_output_modes=["text"],
            capabilities=AgentCapabilities(streaming=True, push_notifications=push),
            skills=[AgentSkill(id="echo", name="echo", description="Echo the request.", tags=["test"])],
            supported_interfaces=[
                AgentInterface(url=f"{self.base_url}/jsonrpc", protocol_binding="JSONRPC", protocol_version="1.0"),
                AgentInterface(url=self.base_url, protocol_binding="HTTP+JSON", protocol_version="1.0"),
            ],
        )
        self.push_store = InMemoryPushNotificationConfigStore() if push else None
        self._push_client = httpx.AsyncClient() if push else None
        extra: dict[str, Any] = {}
        if push:
            extra["push_config_store"] = self.push_store
            extra["push_sender"] = BasePushNotificationSender(self._push_client, self.push_store)  # type: ignore[arg-type]
        self.handler = handler_class(  # type: ignore[call-arg]
            agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=self.card, **extra
        )
        self.webhook_url = f"{self.base_url}/webhook"
        self.pushed: list[dict[str, Any]] = []
        self.pushed_changed = threading.Condition()

    def interface_url(self, binding: str) -> str:
        """The URL of the interface serving ``binding``."""
        for interface in self.card.supported_interfaces:
            if interface.protocol_binding == binding:
                return str(interface.url)
        raise KeyError(binding)

    async def _webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self.pushed_changed:
            self.pushed.append({"body": body, "headers": dict(request.headers)})
            self.pushed_changed.notify_all()
        return JSONResponse({})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                *create_agent_card_routes(self.card),
                *create_jsonrpc_routes(self.handler, "/jsonrpc"),
                Route("/webhook", self._webhook, methods=["POST"]),
                *create_rest_routes(self.handler),  # last: it mounts "/{tenant}"
            ]
        )

    async def serve(self) -> None:
        grpc_server = grpc.aio.server()
        a2a_pb2_grpc.add_A2AServiceServicer_to_server(GrpcHandler(self.handler), grpc_server)
        self.grpc_port = grpc_server.add_insecure_port("127.0.0.1:0")
        self.card.supported_interfaces.append(
            AgentInterface(url=f"127.0.0.1:{self.grpc_port}", protocol_binding="GRPC", protocol_version="1.0")
        )
        await grpc_server.start()
        try:
            await super().serve()
        finally:
            await grpc_server.stop(grace=None)
            if self._push_client is not None:
                await self._push_client.aclose()

    def __enter__(self) -> A2AServer:
        super().__enter__()
        return self


def make_client(server: A2AServer, binding: str, *, streaming: bool = True) -> Client:
    """A real a2a-sdk client for ``server`` over ``binding``."""
    config = ClientConfig(
        streaming=streaming,
        supported_protocol_bindings=[binding],
        grpc_channel_factory=grpc.aio.insecure_channel,
    )
    return ClientFactory(config).create(server.card)


def user_message(text: str, *, context_id: str = "", task_id: str = "", reference_task_ids: Sequence[str] = ()) -> Any:
    """A user ``Message`` with a fresh message id."""
    message = new_text_message(text, context_id=context_id or None, task_id=task_id or None, role=Role.ROLE_USER)
    message.reference_task_ids.extend(reference_task_ids)
    return message


class ScriptedExecutor(AgentExecutor):
    """Behaviour chosen by the user's text; see the module docstring."""

    def __init__(self) -> None:
        self._tracer = trace.get_tracer("tests.a2a.executor")
        self.scopes: dict[str, Identities | None] = {}
        """Identities in scope when ``execute`` started, by task id (whether or not spans are sampled)."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.scopes[context.task_id or ""] = get_identities()
        with self._tracer.start_as_current_span("agent.work"):
            await self._execute(context, event_queue)

    async def _execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        if "reply" in text:
            await event_queue.enqueue_event(
                new_text_message(f"direct: {text}", context_id=context.context_id, role=Role.ROLE_AGENT)
            )
            return
        task = context.current_task
        if task is None:
            assert context.message is not None
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        continuing = task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        await updater.start_work()
        if "ask" in text and not continuing:
            await updater.requires_input(updater.new_agent_message([Part(text="Which city?")]))
            return
        if "fail" in text:
            await updater.failed(updater.new_agent_message([Part(text="cannot do that")]))
            return
        if "crash" in text:
            raise RuntimeError("executor crashed")
        if "wait" in text:
            await asyncio.Event().wait()  # until the task is cancelled
        await updater.add_artifact([Part(text=f"echo: {text}")], name="echo")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
        await updater.cancel()


def framework_executor(*, stream: bool = False, rules: Sequence[Rule] = (), name: str = "travel-agent") -> A2AExecutor:
    """agent-framework's ``A2AExecutor`` hosting an ``Agent`` on the scripted chat client."""
    client = ScriptedChatClient(mode="local", rules=list(rules), default_answer="Booked: {message}")
    return A2AExecutor(Agent(client, name=name, instructions="Book trips."), stream=stream)


class AskFirstExecutor(A2AExecutor):
    """``A2AExecutor`` that asks which date first (``INPUT_REQUIRED``), then lets the agent answer."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is not None and task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED:
            await super().execute(context, event_queue)
            return
        assert context.message is not None
        task = task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        await updater.requires_input(updater.new_agent_message([Part(text="Which date?")]))


def ask_first_executor(*, stream: bool = False) -> AskFirstExecutor:
    """:class:`AskFirstExecutor` on the scripted chat client."""
    client = ScriptedChatClient(mode="local", default_answer="Booked for {message}")
    return AskFirstExecutor(Agent(client, name="booking-agent", instructions="Book."), stream=stream)
