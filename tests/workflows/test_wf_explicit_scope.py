"""An explicit scope wins: a session the app opens inside a workflow run is the session of everything inside it.

Fails until the core tells its own framework-conversation entry apart from one set upstream: today
the enclosing run's ``applied`` puts the outer conversation into agent-framework's telemetry
context variable, and the inner agent's plan reads it back as an "upstream" conversation, so the
inner run gets ``session.id=support-7`` with ``gen_ai.conversation.id=session-a``.
"""

from __future__ import annotations

from typing import Any

import pytest
from agent_framework import WorkflowBuilder, WorkflowContext, executor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wf_support import attrs, descendants, roots, run_tree, scripted_agent

import otel_identity
from otel_identity import attributes as attr

pytestmark = pytest.mark.usefixtures("instrumentor", "framework_telemetry")


async def test_a_session_the_app_opens_inside_a_run_wins(spans: InMemorySpanExporter) -> None:
    """An executor that deliberately works in another session: everything inside that scope carries it."""
    reviewer = scripted_agent("reviewer")

    @executor(id="escalate")
    async def escalate(request: str, ctx: WorkflowContext[Any, str]) -> None:
        with otel_identity.session_scope("support-7"):
            answer = await reviewer.run(f"escalated: {request}")
        await ctx.yield_output(answer.text)

    workflow = WorkflowBuilder(name="escalation", start_executor=escalate).build()
    with otel_identity.session_scope("session-a"):
        result = await workflow.run("refund please")

    assert result.get_outputs() == ["reviewer: escalated: refund please"]
    finished = spans.get_finished_spans()
    (run,) = roots(finished, "workflow.run")
    tree = run_tree(finished, run)
    (inner,) = [span for span in tree if span.name == "invoke_agent reviewer"]
    inside = {span.context.span_id for span in descendants(finished, inner)}
    for span in tree:
        expected = "support-7" if span.context.span_id in inside else "session-a"
        assert attrs(span)[attr.SESSION_ID] == expected, span.name
    assert attrs(inner)[attr.GEN_AI_CONVERSATION_ID] == "support-7"
    assert attrs(inner)[attr.PARENT_RUN_ID] == attrs(run)[attr.RUN_ID], "still nested in the workflow's run"
