"""The workflow instrumentation's contract: off when uninstrumented or suppressed, the app's errors unchanged.

And with agent-framework's own instrumentation off, a ``workflow.run`` span of ours is the run
span, so the run is still one trace with one session.
"""

from __future__ import annotations

from typing import Any

import pytest
from agent_framework import Workflow, WorkflowAgent, WorkflowBuilder, WorkflowContext, executor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from otel_identity_agent_framework import AgentFrameworkInstrumentor
from wf_support import assert_one_conversation, attrs, named, roots, run_tree, sequential

import otel_identity
from otel_identity import attributes as attr

pytestmark = pytest.mark.usefixtures("framework_telemetry")


class OverbookedError(RuntimeError):
    pass


def failing_workflow() -> Any:
    @executor(id="book")
    async def book(request: str, ctx: WorkflowContext[Any, str]) -> None:
        raise OverbookedError(f"no room for {request}")

    return WorkflowBuilder(name="booking", start_executor=book).build()


async def raised(workflow: Any, *, stream: bool) -> BaseException:
    try:
        if stream:
            async for _ in workflow.run("Lisbon", stream=True):
                pass
        else:
            await workflow.run("Lisbon")
    except BaseException as error:
        return error
    raise AssertionError("the workflow did not fail")


@pytest.mark.parametrize("framework_telemetry", [True, False], indirect=True, ids=["af-on", "af-off"])
@pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
async def test_the_apps_exception_passes_through_unchanged(
    spans: InMemorySpanExporter, tracer_provider: Any, framework_telemetry: bool, stream: bool
) -> None:
    bare = await raised(failing_workflow(), stream=stream)
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument()
    try:
        spans.clear()
        with otel_identity.session_scope("session-a"):
            instrumented = await raised(failing_workflow(), stream=stream)
    finally:
        instrumentor.uninstrument()

    assert type(instrumented) is type(bare) and str(instrumented) == str(bare)
    run = roots(spans.get_finished_spans(), "workflow.run")
    assert len(run) == 1, "the run span ended, once"
    assert attrs(run[0])[attr.SESSION_ID] == "session-a"
    assert run[0].status.status_code is StatusCode.ERROR


@pytest.mark.usefixtures("instrumentor")
async def test_a_misused_run_raises_as_without_instrumentation(spans: InMemorySpanExporter) -> None:
    with pytest.raises(ValueError, match="Must provide at least one of"):
        sequential().run()
    assert not roots(spans.get_finished_spans(), "workflow.run")


@pytest.mark.usefixtures("instrumentor")
@pytest.mark.parametrize("framework_telemetry", [False], indirect=True, ids=["af-off"])
@pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
async def test_with_the_frameworks_telemetry_off_our_workflow_run_span_is_the_run_span(
    spans: InMemorySpanExporter, stream: bool
) -> None:
    workflow = sequential()
    with otel_identity.session_scope("session-a"):
        if stream:
            async for _ in workflow.run("plan a trip to Lisbon", stream=True):
                pass
        else:
            await workflow.run("plan a trip to Lisbon")

    finished = spans.get_finished_spans()
    runs = roots(finished, "workflow.run")
    assert len(runs) == 1
    assert attrs(runs[0])["workflow.name"] == workflow.name
    tree = run_tree(finished, runs[0])
    assert {span.name for span in tree} >= {"invoke_agent planner", "invoke_agent reviewer", "hotel lookup"}
    for span in tree:
        assert attrs(span)[attr.SESSION_ID] == "session-a"
        assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == "session-a"
    for participant in (span for span in tree if span.name.startswith("invoke_agent")):
        assert attrs(participant)[attr.PARENT_RUN_ID] == attrs(runs[0])[attr.RUN_ID]


async def test_suppressed_instrumentation_passes_runs_through(
    spans: InMemorySpanExporter, instrumentor: AgentFrameworkInstrumentor
) -> None:
    with otel_identity.session_scope("session-a"), suppress_instrumentation():
        result = await sequential().run("plan a trip to Lisbon")

    assert result.get_outputs()
    assert not [span.name for span in spans.get_finished_spans() if attr.RUN_ID in attrs(span)]


async def test_uninstrument_restores_the_framework(spans: InMemorySpanExporter, tracer_provider: Any) -> None:
    from agent_framework._workflows import _workflow

    originals = (Workflow.run, WorkflowAgent.run, WorkflowContext.send_message, _workflow.start_workflow_span)
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument()
    assert hasattr(Workflow.run, "__wrapped__") and hasattr(_workflow.start_workflow_span, "__wrapped__")
    instrumentor.uninstrument()

    assert (Workflow.run, WorkflowAgent.run, WorkflowContext.send_message, _workflow.start_workflow_span) == originals
    agent = sequential().as_agent("pipeline")
    await agent.run("plan a trip to Lisbon", session=agent.create_session(session_id="session-a"))
    finished = spans.get_finished_spans()
    assert not roots(finished, "invoke_agent pipeline"), "no run span of ours"
    assert not [span.name for span in finished if attrs(span).get(attr.SESSION_ID) == "session-a"]


@pytest.mark.usefixtures("instrumentor")
async def test_a_workflow_inside_the_apps_run_scope_adopts_its_run_id(spans: InMemorySpanExporter) -> None:
    """The app's own run id (run_scope, an AG-UI run_id) is the run: adopted, not nested under."""
    with otel_identity.session_scope("session-a"), otel_identity.run_scope("app-run-1"):
        await sequential().run("plan a trip to Lisbon")

    finished = spans.get_finished_spans()
    run = roots(finished, "workflow.run")[0]
    assert attrs(run)[attr.RUN_ID] == "app-run-1"
    assert attr.PARENT_RUN_ID not in attrs(run)
    participants = named(run_tree(finished, run), "invoke_agent")
    assert participants and all(attrs(span)[attr.PARENT_RUN_ID] == "app-run-1" for span in participants)
    assert all(attrs(span)[attr.RUN_ID] != "app-run-1" for span in participants)
    assert_one_conversation(run_tree(finished, run), session_id="session-a", conversation_id="session-a")
