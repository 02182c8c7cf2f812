"""Host an agent-framework agent as an A2A service: a2a-sdk's JSON-RPC server on uvicorn, one process.

The remote agents (:mod:`otel_identity_demo.flights`, :mod:`otel_identity_demo.hotels`) are
agent-framework ``Agent`` objects behind ``agent_framework_a2a.A2AExecutor``, served the way
a2a-sdk documents it: an agent card route and a JSON-RPC route on a Starlette app
(:func:`otel_identity_testing.a2a.jsonrpc_app`, on the same uvicorn set-up as the tests).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from otel_identity_demo._process import EXIT_USAGE, bind_problem, quiet_logs, shut_down, stop_when_asked, tell
from otel_identity_demo._telemetry import setup_tracing

__all__ = ["serve_agent"]


def _arguments(service: str, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m otel_identity_demo.{service}")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--output", default=None, help="append spans as OTLP/JSON to this file")
    return parser.parse_args(argv)


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
    from otel_identity_testing.servers import ReadyServer, listening_socket, server_config

    try:
        sock = listening_socket("127.0.0.1", args.port, backlog=64)
    except OSError as error:
        tell("ERROR", bind_problem(args.port, error))
        return EXIT_USAGE
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"

    provider, delivery = setup_tracing(service, output=args.output, trusted_peers=[])  # servers trust nobody downstream
    try:
        from otel_identity_testing.a2a import agent_card, jsonrpc_app

        card = agent_card(service, url, description=description, skill=skill, tags=("travel",))
        server = ReadyServer(server_config(jsonrpc_app(executor(), card)), lambda: tell("READY", url))

        def stop() -> None:
            server.should_exit = True

        # uvicorn replaces the signal handlers while it serves and re-raises a caught signal
        # afterwards: ours only ask it to stop, so the provider below is still shut down.
        stop_when_asked(stop)
        server.run(sockets=[sock])
    finally:
        sock.close()
        shut_down(provider, delivery)
    return 0
