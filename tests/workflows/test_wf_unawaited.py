"""A workflow run closed before it was awaited leaves nothing behind: the run lock, our span, a warning."""

from __future__ import annotations

import gc
import warnings
from dataclasses import dataclass

import pytest
from agent_framework import Executor, WorkflowBuilder, WorkflowContext, handler
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

pytestmark = pytest.mark.usefixtures("instrumentor")


@dataclass
class Count:
    value: int


class Increment(Executor):
    @handler
    async def step(self, message: Count, ctx: WorkflowContext[Count, int]) -> None:
        if message.value < 3:
            await ctx.send_message(Count(message.value + 1))
        else:
            await ctx.yield_output(message.value)


@pytest.mark.parametrize("framework_telemetry", [True, False], indirect=True, ids=["af-on", "af-off"])
async def test_a_closed_unawaited_run_releases_the_workflow_and_ends_our_span(
    spans: InMemorySpanExporter, framework_telemetry: bool
) -> None:
    workflow = WorkflowBuilder(start_executor=Increment(id="increment")).build()
    with warnings.catch_warnings(record=True) as caught:  # what pytest and any recorder do: they keep the warning
        warnings.simplefilter("always")
        call = workflow.run(Count(0))
        call.close()
        del call
        gc.collect()
        result = await workflow.run(Count(0))  # "Workflow is already running" if the lock were still held
    assert result.get_final_state().name == "IDLE"
    assert not [str(w.message) for w in caught if "never awaited" in str(w.message)]
    runs = [span for span in spans.get_finished_spans() if span.name == "workflow.run"]
    assert len(runs) == (1 if framework_telemetry else 2), "the closed run's own span was ended, not left open"
