"""Shared pieces of the AG-UI tests: real endpoints on uvicorn, the official npm client, span checks.

Everything is real: agent-framework agents and a workflow served by agent-framework-ag-ui's
``add_agent_framework_fastapi_endpoint`` on uvicorn (127.0.0.1, an ephemeral port), behind
OpenTelemetry's ASGI middleware; the official ``@ag-ui/client`` ``HttpAgent`` under Node.js
(``node/client.mjs``, installed by ``scripts/setup.sh``) and agent-framework-ag-ui's
``AGUIChatClient``; the OpenTelemetry SDK. Only the model is the scripted chat client.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import uvicorn
from agent_framework import Agent, BaseChatClient, ChatMiddlewareLayer, FunctionInvocationLayer, tool
from agent_framework.observability import ChatTelemetryLayer
from agent_framework_ag_ui import (
    AgentFrameworkWorkflow,
    InMemoryAGUIThreadSnapshotStore,
    add_agent_framework_fastapi_endpoint,
)
from agent_framework_orchestrations import SequentialBuilder
from fastapi import FastAPI
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

NODE_CLIENT: Final = Path(__file__).parent / "node" / "client.mjs"
_START_TIMEOUT: Final = 20.0
_NODE_TIMEOUT: Final = 120.0
IDENTITY_KEYS: Final = (attr.SESSION_ID, attr.GEN_AI_CONVERSATION_ID, attr.RUN_ID)


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool(approval_mode="always_require")
def book_hotel(city: str) -> str:
    """Book a hotel: needs the user's approval (AG-UI human in the loop)."""
    return f"booked in {city}"


class LayeredScriptedClient(  # type: ignore[misc]
    FunctionInvocationLayer[Any],
    ChatMiddlewareLayer[Any],
    ChatTelemetryLayer[Any],
    BaseChatClient[Any],
):
    """The scripted model behind agent-framework's layers with the tool loop outermost (as ``AGUIChatClient``).

    agent-framework-ag-ui contributes function middleware per run (its approval handling);
    with the function invocation layer outermost it reaches the tool loop.
    """

    OTEL_PROVIDER_NAME = "scripted"

    def __init__(self, scripted: ScriptedChatClient) -> None:
        super().__init__()
        self.scripted = scripted

    def service_url(self) -> str:
        return self.scripted.service_url()

    def _inner_get_response(self, **kwargs: Any) -> Any:
        return self.scripted._inner_get_response(**kwargs)


RULES: Final = (
    Rule("weather", tool="get_weather", arguments={"city": "Paris"}, answer="Forecast: {result}"),
    Rule("book", tool="book_hotel", arguments={"city": "Lisbon"}, answer="Done: {result}"),
    Rule("overloaded", raises=RuntimeError("model overloaded")),
)


def make_agent(name: str = "assistant") -> Agent[Any]:
    scripted = ScriptedChatClient(mode="local", rules=list(RULES), default_answer=f"{name}: {{message}}")
    client = LayeredScriptedClient(scripted)
    # agent-framework-core 1.23 binds approval answers to an AgentSession the AG-UI endpoint
    # (1.7.0) rebuilds per request; this documented option accepts the answer the resuming
    # request carries, as AG-UI's own flow expects.
    client.function_invocation_configuration["disable_approval_response_binding"] = True
    return Agent(client, name=name, id=f"{name}-agent", tools=[get_weather, book_hotel])


def make_workflow() -> Any:
    """A Sequential planner -> reviewer workflow (each participant its own agent-framework ``Agent``)."""
    planner = Agent(
        LayeredScriptedClient(
            ScriptedChatClient(mode="local", rules=list(RULES[:1]), default_answer="planner: {message}")
        ),
        name="planner",
        id="planner-agent",
        tools=[get_weather],
    )
    reviewer = Agent(
        LayeredScriptedClient(ScriptedChatClient(mode="local", default_answer="reviewer: {message}")),
        name="reviewer",
        id="reviewer-agent",
    )
    return SequentialBuilder(participants=[planner, reviewer]).build()


def make_reviewed_workflow() -> Any:
    """Planner -> reviewer, with a human review of the planner's answer (``request_info``: an AG-UI interrupt)."""
    planner, reviewer = (
        Agent(
            LayeredScriptedClient(ScriptedChatClient(mode="local", default_answer=f"{name}: {{message}}")),
            name=name,
            id=f"{name}-agent",
        )
        for name in ("planner", "reviewer")
    )
    return SequentialBuilder(participants=[planner, reviewer]).with_request_info(agents=[planner]).build()


def make_app() -> FastAPI:
    """``/agent``: an agent (snapshot-scoped threads); ``/workflow``, ``/reviewed``: a workflow per thread."""
    app = FastAPI()
    add_agent_framework_fastapi_endpoint(
        app, make_agent(), "/agent", single_user=True, snapshot_store=InMemoryAGUIThreadSnapshotStore()
    )
    # One workflow instance per thread: a workflow instance refuses concurrent runs.
    workflows = AgentFrameworkWorkflow(workflow_factory=lambda thread_id: make_workflow())
    add_agent_framework_fastapi_endpoint(app, workflows, "/workflow", single_user=True)
    reviewed = AgentFrameworkWorkflow(workflow_factory=lambda thread_id: make_reviewed_workflow())
    add_agent_framework_fastapi_endpoint(app, reviewed, "/reviewed", single_user=True)
    return app


class _ReadyServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()


class AGUIServer:
    """``app`` on uvicorn at 127.0.0.1 (ephemeral port) in a background thread, behind the ASGI instrumentation."""

    def __init__(self, app: FastAPI, *, asgi_instrumentation: bool = True) -> None:
        # The ASGI middleware's per-message "http send/receive" sub-spans start before the body
        # (and so the thread) is read or outside the run; they are excluded, as the README advises.
        self.app: Any = OpenTelemetryMiddleware(app, exclude_spans=["receive", "send"]) if asgi_instrumentation else app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._ready = threading.Event()
        self._server: _ReadyServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> AGUIServer:
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", ws="none")
        self._server = _ReadyServer(config, self._ready)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT):
            raise RuntimeError("AG-UI test server did not start")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(_START_TIMEOUT)
        self._socket.close()


def run_node_client(url: str, threads: Sequence[dict[str, Any]], headers: dict[str, str] | None = None) -> Any:
    """Run the official ``@ag-ui/client`` ``HttpAgent`` (threads concurrently); its per-run results."""
    plan = {"url": url, "threads": list(threads), "headers": headers or {}}
    completed = subprocess.run(
        ["node", str(NODE_CLIENT), json.dumps(plan)],
        capture_output=True,
        text=True,
        timeout=_NODE_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)["runs"]


def server_spans(spans: Iterable[ReadableSpan], path: str) -> list[ReadableSpan]:
    """The HTTP SERVER spans of requests to ``path``."""
    return [span for span in spans if span.kind is SpanKind.SERVER and _path(span).startswith(path)]


def under(spans: Sequence[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    """``root`` and every span below it."""
    children: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        if span.parent is not None:
            children.setdefault(span.parent.span_id, []).append(span)
    result, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop().context.span_id, []):
            result.append(child)
            todo.append(child)
    return result


def identity(span: ReadableSpan) -> tuple[object, object, object]:
    attributes = span.attributes or {}
    return tuple(attributes.get(key) for key in IDENTITY_KEYS)  # type: ignore[return-value]


_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")


def normalized(body: str) -> str:
    """A response body with the framework's generated ids (uuid4, hex) replaced: what stays equal between runs."""
    return _UUID.sub("<id>", body)


def _path(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    value = attributes.get("http.target") or attributes.get("url.path") or ""
    return str(value)
