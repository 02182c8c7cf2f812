"""Every orchestration of agent-framework-orchestrations keeps one conversation, run as a workflow or as an agent.

For Sequential, Concurrent, Handoff, GroupChat and Magentic, real runs on the scripted model,
two sessions at once: one trace per outer run, every span in it (workflow, executor, message,
edge group, the participants' invoke_agent, chat and execute_tool spans, the tool's own span)
carries the outer ``session.id`` and one stable ``gen_ai.conversation.id``, and each
participant run is nested in the outer run (its own run id, the outer one as its parent).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agent_framework import AgentSession
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wf_support import COMPOSITIONS, Composition, assert_one_conversation, attrs, roots, run_tree

import otel_identity
from otel_identity import attributes as attr

pytestmark = pytest.mark.usefixtures("instrumentor", "framework_telemetry")

BY_COMPOSITION = pytest.mark.parametrize("composition", COMPOSITIONS, ids=[c.name for c in COMPOSITIONS])
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
SESSIONS = ("session-a", "session-b")
TASK = "plan a trip to Lisbon"


async def run_workflow(workflow: Any, message: Any = None, *, stream: bool, **kwargs: Any) -> Any:
    if not stream:
        return await workflow.run(message, **kwargs)
    events = workflow.run(message, stream=True, **kwargs)
    async for _ in events:
        pass
    return await events.get_final_response()


async def run_agent(agent: Any, message: str, session: AgentSession, *, stream: bool) -> Any:
    if not stream:
        return await agent.run(message, session=session)
    updates = agent.run(message, session=session, stream=True)
    async for _ in updates:
        pass
    return await updates.get_final_response()


@BY_COMPOSITION
@STREAM
async def test_workflow_run_in_the_apps_session(
    spans: InMemorySpanExporter, composition: Composition, stream: bool
) -> None:
    workflows = {session: composition.build() for session in SESSIONS}

    async def one(session: str) -> Any:
        with otel_identity.session_scope(session):
            return await run_workflow(workflows[session], TASK, stream=stream)

    results = await asyncio.gather(*(one(session) for session in SESSIONS))

    assert all(result.get_outputs() for result in results)
    finished = spans.get_finished_spans()
    runs = roots(finished, "workflow.run")
    assert sorted(attrs(run)[attr.SESSION_ID] for run in runs) == list(SESSIONS)
    assert len({attrs(run)[attr.RUN_ID] for run in runs}) == 2
    for run in runs:
        session = attrs(run)[attr.SESSION_ID]
        tree = run_tree(finished, run)
        ran = assert_one_conversation(tree, session_id=session, conversation_id=session)
        assert ran == set(composition.participants)


@BY_COMPOSITION
@STREAM
async def test_workflow_agent_two_turns_in_one_session(
    spans: InMemorySpanExporter, composition: Composition, stream: bool
) -> None:
    agents = {session: composition.build().as_agent("pipeline") for session in SESSIONS}

    async def two_turns(session_id: str) -> None:
        agent = agents[session_id]
        session = agent.create_session(session_id=session_id)
        for turn in (TASK, "and plan the way back")[: composition.turns]:
            await run_agent(agent, turn, session, stream=stream)

    await asyncio.gather(*(two_turns(session) for session in SESSIONS))

    finished = spans.get_finished_spans()
    runs = roots(finished, "invoke_agent pipeline")
    assert sorted(attrs(run)[attr.SESSION_ID] for run in runs) == sorted(SESSIONS * composition.turns)
    assert len({attrs(run)[attr.RUN_ID] for run in runs}) == len(runs)
    ran: set[str] = set()
    for run in runs:
        own = attrs(run)
        assert own[attr.GEN_AI_OPERATION_NAME] == "invoke_agent"
        assert own[attr.GEN_AI_AGENT_NAME] == "pipeline"
        assert stream or attr.GEN_AI_RESPONSE_ID in own
        session = own[attr.SESSION_ID]
        tree = run_tree(finished, run)
        workflow_runs = [span for span in tree if span.name == "workflow.run"]
        assert workflow_runs, "the pipeline's workflow runs inside its run span"
        assert {attrs(span)[attr.RUN_ID] for span in workflow_runs} == {own[attr.RUN_ID]}, "same run, not nested"
        ran |= assert_one_conversation(tree, session_id=session, conversation_id=session)
    assert ran == set(composition.participants)
