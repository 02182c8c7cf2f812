"""Without the framework's private names (another framework version), identity still lands right.

The instrumentor uses a few private agent-framework names only for the versions they were
checked against; here they are switched off as on an unverified version, and the public
fallbacks must give the same identities.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from af_support import (
    TURNS,
    AskFirstExecutor,
    a2a_agent,
    a2a_server,
    attrs,
    descendants,
    make_agent,
    named,
    response_span,
    run_turn,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_identity_agent_framework import AgentFrameworkInstrumentor, _framework, _private

from otel_identity import attributes as attr


@pytest.fixture
def unverified_instrumentor(
    monkeypatch: pytest.MonkeyPatch, tracer_provider: TracerProvider
) -> Iterator[AgentFrameworkInstrumentor]:
    # As on a version outside every private name's verified range: each falls back to the public surface.
    for name in ("_STREAM_ERROR", "_OPERATION_STATE", "_OTEL_CONVERSATION_READER"):
        monkeypatch.setattr(_framework, name, False)
    monkeypatch.setattr(_framework, "_CONVERSATION_VARIABLE", False)
    for name in ("A2A_PREPARE_MESSAGE", "A2A_MAP_STREAM"):
        monkeypatch.setattr(_private, name, dataclasses.replace(getattr(_private, name), versions="<0"))
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument()
    yield instrumentor
    instrumentor.uninstrument()


@pytest.mark.usefixtures("unverified_instrumentor", "framework_telemetry")
@pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
async def test_without_the_framework_context_variable_only_framework_values_remain(
    spans: InMemorySpanExporter, stream: bool
) -> None:
    """Documented degradation: the framework's own ``gen_ai.conversation.id`` wins on its spans."""
    agent = make_agent("responses")
    session = agent.create_session(session_id="session-42")

    responses = [await run_turn(agent, turn, session, stream=stream) for turn in TURNS]

    finished = spans.get_finished_spans()
    runs = sorted(named(finished, "invoke_agent"), key=lambda span: span.start_time or 0)
    assert len(runs) == 3
    for index, (run, response) in enumerate(zip(runs, responses, strict=True)):
        response_span(finished, run, response.response_id or "")
        expected_on_run = "session-42" if index == 0 else responses[index - 1].response_id
        assert attrs(run)[attr.GEN_AI_CONVERSATION_ID] == expected_on_run
        for span in descendants(finished, run):
            assert attrs(span)[attr.SESSION_ID] == "session-42", span.name
            assert attrs(span)[attr.RUN_ID] == attrs(run)[attr.RUN_ID], span.name
            if not span.name.startswith(("invoke_agent", "chat ")):
                assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == "session-42", span.name
    assert attrs(runs[2])[attr.GEN_AI_PREVIOUS_RESPONSE_ID] == responses[1].response_id


@pytest.mark.usefixtures("unverified_instrumentor")
async def test_a2a_references_inferred_from_the_session(spans: InMemorySpanExporter) -> None:
    executor = AskFirstExecutor()
    async with a2a_server(executor) as card, a2a_agent(card) as agent:
        session = agent.create_session(session_id="caller-session")
        for message in ("ask me", "Paris", "and a hotel"):
            await agent.run(message, session=session)

    runs: list[Any] = sorted(named(spans.get_finished_spans(), "invoke_agent flights"), key=lambda s: s.start_time or 0)
    task_id = executor.received[1]["task_id"]
    assert [attrs(run)[attr.A2A_TASK_ID] for run in runs[:2]] == [task_id, task_id]
    assert attrs(runs[1])[attr.A2A_TASK_STATE] == "TASK_STATE_COMPLETED"
    assert list(attrs(runs[2])[attr.A2A_REFERENCE_TASK_IDS]) == executor.received[2]["reference_task_ids"] == [task_id]
