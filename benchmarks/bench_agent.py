"""Benchmark 2: an agent-framework agent run, with and without otel-identity.

A real ``agent_framework.Agent`` on the deterministic ``ScriptedChatClient`` (no network),
the framework's own telemetry on (``invoke_agent``, ``chat``, ``execute_tool`` spans). Each
session has two turns; the second calls a tool, so a run makes two to four spans.

* ``framework``: the app as it is, on an SDK provider with no otel-identity component.
* ``framework+ours``: ``AgentFrameworkInstrumentor`` instrumented and the identity processor
  on the provider: what a user adds.

Both share the process's global provider (agent-framework takes its tracer from it), which
switches between the two SDK providers batch by batch.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from _harness import Row, Variant, measure, now
from _providers import global_switch
from agent_framework import Agent, tool
from agent_framework.observability import enable_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_identity_agent_framework import AgentFrameworkInstrumentor

from otel_identity import add_identity_processor
from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

__all__ = ["TURNS", "make_agent", "make_client", "run", "run_turns"]

TURNS: Final = ("hello there", "what is the weather in Paris?")


@tool
def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"


def make_client() -> ScriptedChatClient:
    """A fresh scripted model: "weather" calls the tool, anything else is echoed."""
    return ScriptedChatClient(
        mode="responses",
        rules=[Rule("weather", tool="get_weather", arguments={"city": "Paris"}, answer="Forecast: {result}")],
    )


def make_agent(client: ScriptedChatClient | None = None) -> Agent[Any]:
    """An agent on ``client`` (default: a fresh one, its request log empty)."""
    return Agent(client if client is not None else make_client(), name="concierge", tools=[get_weather])


async def run_turns(agent: Agent[Any], runs: int) -> None:
    """``runs`` runs: sessions of two turns each."""
    for index in range(runs):
        if index % len(TURNS) == 0:
            session = agent.create_session()
        await agent.run(TURNS[index % len(TURNS)], session=session)


def _check(loop: asyncio.AbstractEventLoop, instrumentor: AgentFrameworkInstrumentor) -> None:
    """The instrumented variant really stamps every span; the baseline produces the same spans."""
    switch = global_switch()
    found: dict[bool, list[Any]] = {}
    for instrumented in (False, True):
        provider = TracerProvider()
        if instrumented:
            add_identity_processor(provider)
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        previous, switch.current = switch.current, provider
        if instrumented:
            instrumentor.instrument(tracer_provider=provider)
        try:
            loop.run_until_complete(run_turns(make_agent(), len(TURNS)))
        finally:
            if instrumented:
                instrumentor.uninstrument()
            switch.current = previous
        found[instrumented] = list(exporter.get_finished_spans())
    names = {flag: sorted(span.name for span in spans) for flag, spans in found.items()}
    if names[False] != names[True] or not any(name.startswith("execute_tool") for name in names[True]):
        raise AssertionError(f"variants produce different spans: {names}")
    if not all((span.attributes or {}).get(attr.SESSION_ID) for span in found[True]):
        raise AssertionError("the instrumented variant left spans without session.id")


def run(*, quick: bool) -> list[Row]:
    switch = global_switch()
    baseline, ours = TracerProvider(), TracerProvider()
    add_identity_processor(ours)
    enable_instrumentation(force=True)
    instrumentor = AgentFrameworkInstrumentor()
    loop = asyncio.new_event_loop()
    try:
        _check(loop, instrumentor)

        def batch(n: int) -> int:
            agent = make_agent()

            async def timed_runs() -> int:
                start = now()
                await run_turns(agent, n)
                return now() - start

            return loop.run_until_complete(timed_runs())

        def use(provider: TracerProvider) -> None:
            switch.current = provider

        def instrumented() -> None:
            use(ours)
            instrumentor.instrument(tracer_provider=ours)

        def uninstrumented() -> None:
            instrumentor.uninstrument()
            use(baseline)

        variants = [
            Variant("framework", batch, enter=lambda: use(baseline)),
            Variant("framework+ours", batch, enter=instrumented, leave=uninstrumented),
        ]
        measured = measure(variants, ops=10 if quick else 20, rounds=3 if quick else 31, repeats=1 if quick else 3)
    finally:
        loop.close()
    return [Row.ratio("2. agent-framework run", measured, "framework+ours", "framework", limit=1.05)]
