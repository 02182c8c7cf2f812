"""A real a2a-sdk server on 127.0.0.1 for the benchmarks, in a thread with its own event loop.

JSON-RPC over uvicorn on an ephemeral port, like a separate service. Its executor does what
a minimal agent does: creates the task, adds an artifact, completes.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import uvicorn
from a2a.helpers import new_task_from_user_message, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Part, Role
from starlette.applications import Starlette

__all__ = ["EchoServer", "user_message"]


class _EchoExecutor(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
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


class _ReadyServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()


class EchoServer:
    """``with EchoServer() as server: server.card`` -- serves until the block exits."""

    def __init__(self) -> None:
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
        # accepted sockets inherit proto 0 otherwise; Nagle plus delayed ACKs then add ~40 ms per request.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.card = AgentCard(
            name="echo-agent",
            description="Echoes what it is told.",
            version="1.0.0",
            default_input_modes=["text"],
            default_output_modes=["text"],
            capabilities=AgentCapabilities(streaming=True),
            skills=[AgentSkill(id="echo", name="echo", description="Echo the request.", tags=["bench"])],
            supported_interfaces=[
                AgentInterface(url=f"http://127.0.0.1:{self.port}/", protocol_binding="JSONRPC", protocol_version="1.0")
            ],
        )
        handler = DefaultRequestHandler(
            agent_executor=_EchoExecutor(), task_store=InMemoryTaskStore(), agent_card=self.card
        )
        app = Starlette(routes=[*create_agent_card_routes(self.card), *create_jsonrpc_routes(handler, "/")])
        self._ready = threading.Event()
        self._server = _ReadyServer(uvicorn.Config(app, log_level="warning", lifespan="off"), self._ready)
        self._thread = threading.Thread(target=self._run, name="bench-a2a-server", daemon=True)
        self._failure: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as error:
            self._failure = error
        finally:
            self._ready.set()

    def __enter__(self) -> EchoServer:
        self._thread.start()
        if not self._ready.wait(30) or self._failure is not None:
            raise RuntimeError("the A2A server did not start") from self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()


def user_message(text: str) -> Any:
    """A user message with a fresh message id."""
    return new_text_message(text, role=Role.ROLE_USER)
