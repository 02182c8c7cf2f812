"""Benchmark 7: an agent-framework Sequential workflow run, with and without otel-identity.

A real agent-framework-orchestrations ``SequentialBuilder`` pipeline (planner -> reviewer, two
``Agent`` objects on the deterministic ``ScriptedChatClient``, the planner calls a tool), run
with ``workflow.run(...)`` inside the app's session, the framework's own telemetry on
(``workflow.run``, ``executor.process``, ``message.send``, ``edge_group.process``,
``invoke_agent``, ``chat``, ``execute_tool`` spans: about twenty per run).

* ``workflow``: the app as it is, on an SDK provider with no otel-identity component (the
  session scope still opened: it is the app's code, and costs the same in both).
* ``workflow+ours``: ``AgentFrameworkInstrumentor`` instrumented and the identity processor
  on the provider: what a user adds.

Run alone: ``python benchmarks/bench_workflow.py [--quick]``; or ``benchmarks/run.py --only 7``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Row, Variant, measure, now, table
from _providers import global_switch
from agent_framework import Agent, tool
from agent_framework.observability import enable_instrumentation
from agent_framework_orchestrations import SequentialBuilder
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_identity_agent_framework import AgentFrameworkInstrumentor

import otel_identity
from otel_identity import add_identity_processor
from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

__all__ = ["make_workflow", "run", "run_workflows"]

TASK: Final = "plan a trip to Lisbon"


@tool
def find_hotels(city: str) -> str:
    """Hotels in a city."""
    return f"3 hotels in {city}"


def make_workflow() -> Any:
    """A fresh planner -> reviewer pipeline (a workflow instance runs one run at a time)."""
    planner = Agent(
        ScriptedChatClient(
            mode="responses",
            rules=[Rule("plan", tool="find_hotels", arguments={"city": "Lisbon"}, answer="Plan: {result}")],
        ),
        name="planner",
        tools=[find_hotels],
    )
    reviewer = Agent(ScriptedChatClient(mode="responses"), name="reviewer")
    return SequentialBuilder(participants=[planner, reviewer]).build()


async def run_workflows(runs: int) -> None:
    """``runs`` workflow runs, each in a session of its own (built outside the timed part)."""
    workflows = [make_workflow() for _ in range(runs)]
    start = now()
    for index, workflow in enumerate(workflows):
        with otel_identity.session_scope(f"session-{index}"):
            await workflow.run(TASK)
    _elapsed.append(now() - start)


_elapsed: list[int] = []


def _check(loop: asyncio.AbstractEventLoop, instrumentor: AgentFrameworkInstrumentor) -> None:
    """The instrumented variant stamps every span of the run; the baseline produces the same spans."""
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
            loop.run_until_complete(run_workflows(1))
        finally:
            if instrumented:
                instrumentor.uninstrument()
            switch.current = previous
        found[instrumented] = [span for span in exporter.get_finished_spans() if span.name != "workflow.build"]
    names = {flag: sorted(span.name for span in spans) for flag, spans in found.items()}
    if names[False] != names[True] or not any(name.startswith("execute_tool") for name in names[True]):
        raise AssertionError(f"variants produce different spans: {names}")
    unstamped = [span.name for span in found[True] if (span.attributes or {}).get(attr.SESSION_ID) != "session-0"]
    if unstamped or not all((span.attributes or {}).get(attr.RUN_ID) for span in found[True]):
        raise AssertionError(f"the instrumented variant left spans without the session or a run: {unstamped}")


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
            _elapsed.clear()
            loop.run_until_complete(run_workflows(n))
            return _elapsed[0]

        def use(provider: TracerProvider) -> None:
            switch.current = provider

        def instrumented() -> None:
            use(ours)
            instrumentor.instrument(tracer_provider=ours)

        def uninstrumented() -> None:
            instrumentor.uninstrument()
            use(baseline)

        variants = [
            Variant("workflow", batch, enter=lambda: use(baseline)),
            Variant("workflow+ours", batch, enter=instrumented, leave=uninstrumented),
        ]
        measured = measure(variants, ops=3 if quick else 5, rounds=3 if quick else 31, repeats=1 if quick else 3)
    finally:
        loop.close()
    return [Row.ratio("7. Sequential workflow run", measured, "workflow+ours", "workflow", limit=1.05)]


if __name__ == "__main__":
    print(table(run(quick="--quick" in sys.argv)))
