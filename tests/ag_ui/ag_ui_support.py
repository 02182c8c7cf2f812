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
import subprocess
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

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
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient
from otel_identity_testing.servers import ServerThread

NODE_CLIENT: Final = Path(__file__).parent / "node" / "client.mjs"
_NODE_TIMEOUT: Final = 120.0
_SETTLE_TIMEOUT: Final = 30.0
"""Bound on waiting for the server to finish requests the client already has answers to (a failure, not a pause)."""
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


class _InFlight:
    """ASGI wrapper outside everything else: counts HTTP requests still being handled.

    The client has its answer once the last event is sent; the server's request span ends
    after that, in the server's thread. A test that reads the server's spans waits for this
    count to reach zero first (:meth:`AGUIServer.settle`), not for a while.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.active = 0
        self.changed = threading.Condition()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.changed:
            self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self.changed:
                self.active -= 1
                self.changed.notify_all()


class AGUIServer(ServerThread):
    """``app`` on uvicorn at 127.0.0.1 (ephemeral port) in a background thread, behind the ASGI instrumentation.

    A :class:`~otel_identity_testing.servers.ServerThread`: the shared local-server rules (no
    Nagle, idle connections kept longer than httpx reuses them), so a test under CPU load never
    sends a request on a connection the server is closing.
    """

    def __init__(self, app: FastAPI, *, asgi_instrumentation: bool = True) -> None:
        # The ASGI middleware's per-message "http send/receive" sub-spans start before the body
        # (and so the thread) is read or outside the run; they are excluded, as the README advises.
        served: Any = OpenTelemetryMiddleware(app, exclude_spans=["receive", "send"]) if asgi_instrumentation else app
        self._in_flight = _InFlight(served)
        super().__init__(self._in_flight, name="ag-ui", ws="none")

    def __enter__(self) -> AGUIServer:
        super().__enter__()
        return self

    def settle(self, timeout: float = _SETTLE_TIMEOUT) -> None:
        """Return once every request the server received is handled (its spans ended)."""
        with self._in_flight.changed:
            if not self._in_flight.changed.wait_for(lambda: self._in_flight.active == 0, timeout):
                raise AssertionError(f"{self._in_flight.active} AG-UI request(s) still running after {timeout} s")

    def finished_spans(self, spans: InMemorySpanExporter) -> list[ReadableSpan]:
        """``spans``' finished spans once the server handled every request (:meth:`settle`)."""
        self.settle()
        return list(spans.get_finished_spans())


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
