"""Two real services for the sampling test, each run with ``opentelemetry-instrument`` in its own process.

``python sampling_services.py server``: an a2a-sdk server (JSON-RPC, uvicorn on 127.0.0.1)
hosting an agent-framework ``Agent`` on the scripted chat client through ``A2AExecutor``.
It prints ``READY <port>``, serves until stdin closes, then prints what it exported.

``python sampling_services.py client <port> <sessions> <turns>``: an agent-framework
``A2AAgent`` per session (``AgentSession(session_id=...)``), one A2A call per turn, a few
sessions at a time; it prints what it exported.

No sampler, exporter or propagator is set in code: ``OTEL_TRACES_SAMPLER=otel_identity_session``,
``OTEL_TRACES_SAMPLER_ARG``, ``OTEL_PROPAGATORS`` and ``OTEL_IDENTITY_TRUSTED_PEERS`` come
from the environment the test gives. "Exported" is what a ``SimpleSpanProcessor`` hands to an
in-memory exporter: sampled spans only, as any exporter would see them. Printed as one JSON
line: per trace id, the ``session.id`` values its exported spans carry and their count.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_identity import attributes as attr


def _exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider), "run under opentelemetry-instrument"
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def _summary(exporter: InMemorySpanExporter, **extra: Any) -> str:
    traces: dict[str, dict[str, Any]] = {}
    for span in exporter.get_finished_spans():
        entry = traces.setdefault(f"{span.context.trace_id:032x}", {"sessions": [], "spans": 0})
        entry["spans"] += 1
        session = (span.attributes or {}).get(attr.SESSION_ID)
        if session is not None and session not in entry["sessions"]:
            entry["sessions"].append(session)
    return json.dumps({"traces": traces, "sampler": trace.get_tracer_provider().sampler.get_description(), **extra})  # type: ignore[attr-defined]


async def _serve() -> None:
    import uvicorn
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from a2a.server.tasks import InMemoryTaskStore
    from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
    from agent_framework import Agent
    from agent_framework_a2a import A2AExecutor
    from starlette.applications import Starlette

    from otel_identity_testing.scripted_chat import ScriptedChatClient
    from otel_identity_testing.servers import listening_socket, server_config

    exporter = _exporter()
    sock = listening_socket(backlog=256)
    port = sock.getsockname()[1]
    card = AgentCard(
        name="hotels",
        description="books hotels",
        version="1.0.0",
        default_input_modes=["text"],
        default_output_modes=["text"],
        capabilities=AgentCapabilities(streaming=True),
        skills=[AgentSkill(id="book", name="book", description="books hotels", tags=["travel"])],
        supported_interfaces=[
            AgentInterface(url=f"http://127.0.0.1:{port}/", protocol_binding="JSONRPC", protocol_version="1.0")
        ],
    )
    agent = Agent(ScriptedChatClient(mode="local", default_answer="Booked: {message}"), name="hotels")
    handler = DefaultRequestHandler(agent_executor=A2AExecutor(agent), task_store=InMemoryTaskStore(), agent_card=card)
    app = Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])
    server = uvicorn.Server(server_config(app))  # the shared keep-alive rule: no reuse of a closing connection
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    print(f"READY {port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the test closes stdin
    server.should_exit = True
    await serving
    print(_summary(exporter), flush=True)


async def _call(port: int, sessions: int, turns: int, parallel: int) -> None:
    import httpx
    from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
    from agent_framework import AgentSession
    from agent_framework_a2a import A2AAgent

    exporter = _exporter()
    card = AgentCard(
        name="hotels",
        description="books hotels",
        version="1.0.0",
        default_input_modes=["text"],
        default_output_modes=["text"],
        capabilities=AgentCapabilities(streaming=True),
        skills=[AgentSkill(id="book", name="book", description="books hotels", tags=["travel"])],
        supported_interfaces=[
            AgentInterface(url=f"http://127.0.0.1:{port}/", protocol_binding="JSONRPC", protocol_version="1.0")
        ],
    )
    limit = asyncio.Semaphore(parallel)
    answers: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=60) as http:
        agent = A2AAgent(agent_card=card, http_client=http, name="hotels")

        async def one(index: int) -> None:
            session = AgentSession(session_id=f"session-{index}")
            async with limit:
                for turn in range(turns):
                    response = await agent.run(f"turn {turn} of session {index}", session=session)
                    if "Booked" in response.text:
                        answers[session.session_id] = answers.get(session.session_id, 0) + 1

        await asyncio.gather(*(one(index) for index in range(sessions)))
    print(_summary(exporter, answers=answers), flush=True)


def main() -> None:
    if sys.argv[1] == "server":
        asyncio.run(_serve())
    else:
        port, sessions, turns = (int(value) for value in sys.argv[2:5])
        asyncio.run(_call(port, sessions, turns, parallel=25))


if __name__ == "__main__":
    main()
