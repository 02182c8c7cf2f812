"""Runs inside runs: a sub-workflow (``WorkflowExecutor``) and an agent used as a tool keep the outer conversation.

The nested run has its own run id and records the run it is nested in; its spans carry the
outer ``session.id`` / ``gen_ai.conversation.id``, whatever session the framework gave it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agent_framework import Agent, AgentSession, WorkflowBuilder, WorkflowContext, WorkflowExecutor, executor
from agent_framework_orchestrations import SequentialBuilder
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wf_support import (
    assert_one_conversation,
    attrs,
    descendants,
    planner_and_reviewer,
    roots,
    run_tree,
    scripted_agent,
)

import otel_identity
from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule

pytestmark = pytest.mark.usefixtures("instrumentor", "framework_telemetry")

SESSIONS = ("session-a", "session-b")
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])


def with_sub_workflow() -> Any:
    """An outer workflow whose first executor runs a whole Sequential pipeline as a sub-workflow."""
    inner = SequentialBuilder(name="research", participants=planner_and_reviewer()).build()

    @executor(id="report")
    async def report(research: Any, ctx: WorkflowContext[Any, str]) -> None:
        await ctx.yield_output(f"report: {research.text}")

    research = WorkflowExecutor(inner, id="research")
    return WorkflowBuilder(name="trip", start_executor=research).add_edge(research, report).build()


async def drain(workflow: Any, message: str, *, stream: bool) -> Any:
    if not stream:
        return await workflow.run(message)
    events = workflow.run(message, stream=True)
    async for _ in events:
        pass
    return await events.get_final_response()


@STREAM
async def test_sub_workflow_is_a_nested_run_of_the_outer_one(spans: InMemorySpanExporter, stream: bool) -> None:
    workflows = {session: with_sub_workflow() for session in SESSIONS}

    async def one(session: str) -> Any:
        with otel_identity.session_scope(session):
            return await drain(workflows[session], "plan a trip to Lisbon", stream=stream)

    results = await asyncio.gather(*(one(session) for session in SESSIONS))

    assert [result.get_outputs() for result in results] == [["report: reviewer: plan a trip to Lisbon"]] * 2
    finished = spans.get_finished_spans()
    outer_runs = roots(finished, "workflow.run")
    assert sorted(attrs(run)[attr.SESSION_ID] for run in outer_runs) == list(SESSIONS)
    for outer in outer_runs:
        session = attrs(outer)[attr.SESSION_ID]
        tree = run_tree(finished, outer)
        ran = assert_one_conversation(tree, session_id=session, conversation_id=session)
        assert ran == {"planner", "reviewer"}
        nested = [span for span in tree if span.name == "workflow.run" and span is not outer]
        assert len(nested) == 1, "the sub-workflow's own workflow.run span, inside the outer run"
        inner = attrs(nested[0])
        assert inner[attr.RUN_ID] != attrs(outer)[attr.RUN_ID]
        assert inner[attr.PARENT_RUN_ID] == attrs(outer)[attr.RUN_ID]
        assert attr.PARENT_RUN_ID not in attrs(outer)
        for participant in (span for span in descendants(finished, nested[0]) if span.name.startswith("invoke_agent")):
            assert attrs(participant)[attr.PARENT_RUN_ID] == inner[attr.RUN_ID], "nested in the sub-workflow's run"


def agent_with_researcher_tool(*, propagate_session: bool) -> Agent[Any]:
    researcher = scripted_agent("researcher", rules=[Rule("Lisbon", answer="Lisbon has 3 hotels.")])
    research = researcher.as_tool(
        name="research", description="Research a city", arg_name="task", propagate_session=propagate_session
    )
    return scripted_agent(
        "concierge",
        rules=[Rule("trip", tool="research", arguments={"task": "Lisbon"}, answer="Done: {result}")],
        tools=[research],
    )


@pytest.mark.parametrize("propagate_session", [False, True], ids=["fresh-session", "propagate-session"])
@STREAM
async def test_agent_used_as_a_tool_is_a_nested_run(
    spans: InMemorySpanExporter, propagate_session: bool, stream: bool
) -> None:
    agents = {session: agent_with_researcher_tool(propagate_session=propagate_session) for session in SESSIONS}

    async def two_turns(session_id: str) -> list[str]:
        agent = agents[session_id]
        session = AgentSession(session_id=session_id)
        texts = []
        for turn in ("plan a trip to Lisbon", "thanks, bye"):
            if stream:
                updates = agent.run(turn, session=session, stream=True)
                async for _ in updates:
                    pass
                texts.append((await updates.get_final_response()).text)
            else:
                texts.append((await agent.run(turn, session=session)).text)
        return texts

    results = await asyncio.gather(*(two_turns(session) for session in SESSIONS))

    assert all(texts[0] == "Done: Lisbon has 3 hotels." for texts in results)
    finished = spans.get_finished_spans()
    runs = roots(finished, "invoke_agent concierge")
    assert sorted(attrs(run)[attr.SESSION_ID] for run in runs) == sorted(SESSIONS * 2)
    nested_seen = 0
    for run in runs:
        session = attrs(run)[attr.SESSION_ID]
        tree = run_tree(finished, run)
        assert {attrs(span).get(attr.SESSION_ID) for span in tree} == {session}
        assert {attrs(span).get(attr.GEN_AI_CONVERSATION_ID) for span in tree} == {session}
        for inner in (span for span in tree if span.name == "invoke_agent researcher"):
            nested_seen += 1
            own = attrs(inner)
            assert own[attr.PARENT_RUN_ID] == attrs(run)[attr.RUN_ID]
            assert own[attr.RUN_ID] != attrs(run)[attr.RUN_ID]
            # A fresh session per call: its own id is recorded on its run span only, never as session.id.
            assert (attr.AGENT_SESSION_ID in own) is not propagate_session
            parents = {span.context.span_id: span for span in tree}
            assert inner.parent is not None and parents[inner.parent.span_id].name == "execute_tool research"
    assert nested_seen == 2, "the first turn of each session calls the tool"
