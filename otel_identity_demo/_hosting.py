"""Host an agent-framework agent as an A2A service: a2a-sdk's JSON-RPC server on uvicorn, one process.

The remote agents (:mod:`otel_identity.demo.flights`, :mod:`otel_identity.demo.hotels`) are
agent-framework ``Agent`` objects behind ``agent_framework_a2a.A2AExecutor``, served the way
a2a-sdk documents it: an agent card route and a JSON-RPC route on a Starlette app.
"""

from __future__ import annotations

import argparse
import errno
import socket
from collections.abc import Callable, Sequence
from typing import Any

from otel_identity.demo._process import EXIT_USAGE, on_stop, quiet_logs, tell, watch_stdin
from otel_identity.demo._telemetry import setup_tracing

__all__ = ["serve_agent"]


def _arguments(service: str, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m otel_identity.demo.{service}")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--output", default=None, help="append spans as OTLP/JSON to this file")
    return parser.parse_args(argv)


def _listen(port: int) -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it Nagle plus delayed ACKs add ~40 ms to every keep-alive A2A request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def serve_agent(
    service: str,
    *,
    description: str,
    skill: str,
    executor: Callable[[], Any],
    argv: Sequence[str] | None = None,
) -> int:
    """Run ``service`` until SIGTERM, SIGINT or stdin end of file; return the exit code."""
    quiet_logs()
    args = _arguments(service, argv)
    try:
        sock = _listen(args.port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            tell("ERROR", f"port {args.port} is in use: stop what uses it, or choose another --port-base")
        else:
            tell("ERROR", f"cannot listen on 127.0.0.1:{args.port}: {error.strerror}")
        return EXIT_USAGE
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"

    provider = setup_tracing(service, output=args.output, trusted_peers=[])  # servers trust nobody downstream
    try:
        import uvicorn
        from a2a.server.request_handlers import DefaultRequestHandler
        from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
        from a2a.server.tasks import InMemoryTaskStore
        from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
        from starlette.applications import Starlette

        card = AgentCard(
            name=service,
            description=description,
            version="1.0.0",
            default_input_modes=["text"],
            default_output_modes=["text"],
            capabilities=AgentCapabilities(streaming=True),
            skills=[AgentSkill(id=service, name=service, description=skill, tags=["travel"])],
            supported_interfaces=[AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")],
        )
        handler = DefaultRequestHandler(agent_executor=executor(), task_store=InMemoryTaskStore(), agent_card=card)
        app = Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])

        class ReadyServer(uvicorn.Server):  # type: ignore[misc]
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets=sockets)
                if not self.should_exit:
                    tell("READY", url)

        server = ReadyServer(
            uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2, access_log=False)
        )

        def stop() -> None:
            server.should_exit = True

        # uvicorn replaces the signal handlers while it serves and re-raises a caught signal
        # afterwards: ours only ask it to stop, so the provider below is still shut down.
        on_stop(stop)
        watch_stdin(stop)
        server.run(sockets=[sock])
    finally:
        sock.close()
        provider.shutdown()
    return 0
