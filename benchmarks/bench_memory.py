"""Benchmark 4: memory stays flat however many runs and sessions go through.

Runs are spread round-robin over the sessions; the warm-up is one run of every session, so
whatever is legitimately kept per session (by the app or the framework) exists before the
measurement starts. Growth after the warm-up is what ``tracemalloc`` still holds at the end
(after a full collection) minus what it held after the warm-up. The warm-up's own growth is
printed too, per session: a registry of sessions would show there.

* core path: ``session_scope`` + ``run_scope``, three spans per run through the identity
  processor and an exporter that drops them; 100,000 runs over 10,000 sessions.
* agent path: real agent-framework runs (scripted chat client, the framework's telemetry and
  ``AgentFrameworkInstrumentor`` on, the same dropping exporter); 10,000 runs over 1,000
  sessions, the app keeping its ``AgentSession`` objects.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Callable
from typing import Any, Final

from _harness import Row
from _providers import DropExporter, global_switch
from agent_framework.observability import enable_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from otel_identity_agent_framework import AgentFrameworkInstrumentor

from otel_identity import add_identity_processor, run_scope, session_scope

__all__ = ["run"]

LIMIT_BYTES: Final = 2 * 1024 * 1024


def _provider() -> TracerProvider:
    provider = TracerProvider()
    add_identity_processor(provider)
    provider.add_span_processor(SimpleSpanProcessor(DropExporter()))
    return provider


def _traced_growth(run_one: Callable[[int], None], *, runs: int, sessions: int) -> tuple[int, int]:
    """(warm-up growth, growth after warm-up) in bytes, for ``runs`` runs of ``run_one(index)``."""
    gc.collect()
    tracemalloc.start()
    try:
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        for index in range(sessions):
            run_one(index)
        gc.collect()
        warm = tracemalloc.get_traced_memory()[0]
        for index in range(sessions, runs):
            run_one(index)
        gc.collect()
        end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return warm - start, end - warm


def _core(*, runs: int, sessions: int) -> tuple[int, int]:
    tracer = _provider().get_tracer("otel-identity-benchmarks")
    names = [f"session-{index:05d}" for index in range(sessions)]

    def run_one(index: int) -> None:
        with session_scope(names[index % sessions], user_id="user-7"), run_scope():
            with tracer.start_as_current_span("invoke_agent"):
                with tracer.start_as_current_span("chat"):
                    pass
                with tracer.start_as_current_span("execute_tool"):
                    pass

    return _traced_growth(run_one, runs=runs, sessions=sessions)


def _agent(*, runs: int, sessions: int) -> tuple[int, int]:
    from bench_agent import TURNS, make_agent, make_client

    switch = global_switch()
    provider = _provider()
    previous, switch.current = switch.current, provider
    enable_instrumentation(force=True)
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    loop = asyncio.new_event_loop()
    try:
        client = make_client()
        agent = make_agent(client)
        kept: list[Any] = [agent.create_session() for _ in range(sessions)]

        def run_one(index: int) -> None:
            session = kept[index % sessions]
            loop.run_until_complete(agent.run(TURNS[(index // sessions) % len(TURNS)], session=session))
            client.requests.clear()  # the scripted client's own request log, not ours

        return _traced_growth(run_one, runs=runs, sessions=sessions)
    finally:
        loop.close()
        instrumentor.uninstrument()
        switch.current = previous


def _row(name: str, runs: int, sessions: int, growth: tuple[int, int]) -> Row:
    warm, after = growth
    return Row(
        name,
        f"{runs:,} runs / {sessions:,} sessions; warm-up +{warm / 1e6:.2f} MB ({warm / sessions:.0f} B/session)",
        f"+{after / 1e6:.3f} MB",
        "-",
        f"< {LIMIT_BYTES / 2**20:.0f} MB",
        after < LIMIT_BYTES,
    )


def run(*, quick: bool) -> list[Row]:
    core = (2_000, 200) if quick else (100_000, 10_000)
    agent = (200, 20) if quick else (10_000, 1_000)
    return [
        _row("4. memory, scopes + spans", *core, _core(runs=core[0], sessions=core[1])),
        _row("4. memory, agent-framework runs", *agent, _agent(runs=agent[0], sessions=agent[1])),
    ]
