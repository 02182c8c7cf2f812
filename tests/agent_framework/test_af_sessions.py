"""A 3-turn session with a tool call: every span of every run carries the same session and conversation.

Real ``Agent`` objects on the scripted client, in each service mode, streaming and not, with
agent-framework's own instrumentation on and off.
"""

from __future__ import annotations

from typing import Any

import pytest
from af_support import TURNS, attrs, descendants, make_agent, named, run_turn
from agent_framework import AgentSession
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_identity_agent_framework import AgentFrameworkInstrumentor

from otel_identity import attributes as attr

pytestmark = pytest.mark.usefixtures("instrumentor")

FRAMEWORK = pytest.mark.parametrize("framework_telemetry", [True, False], indirect=True, ids=["af-on", "af-off"])
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])


async def _three_turns(agent: Any, session: AgentSession, *, stream: bool) -> list[Any]:
    return [await run_turn(agent, turn, session, stream=stream) for turn in TURNS]


@FRAMEWORK
@STREAM
@pytest.mark.parametrize("mode", ["responses", "conversation", "local"])
async def test_every_span_of_every_run_has_one_session_and_conversation(
    spans: InMemorySpanExporter, framework_telemetry: bool, mode: Any, stream: bool
) -> None:
    agent = make_agent(mode)
    session = agent.create_session(session_id="session-42")

    responses = await _three_turns(agent, session, stream=stream)

    finished = spans.get_finished_spans()
    runs = sorted(named(finished, "invoke_agent"), key=lambda span: span.start_time or 0)
    assert len(runs) == 3, [span.name for span in finished]
    run_ids = set()
    for run in runs:
        members = descendants(finished, run)
        names = {span.name for span in members}
        if framework_telemetry:
            assert any(name.startswith("chat ") for name in names)
        run_id = attrs(run)[attr.RUN_ID]
        run_ids.add(run_id)
        for span in members:
            values = attrs(span)
            assert values.get(attr.SESSION_ID) == "session-42", span.name
            assert values.get(attr.GEN_AI_CONVERSATION_ID) == "session-42", span.name
            assert values.get(attr.RUN_ID) == run_id, span.name
    assert len(run_ids) == 3
    tool_run = descendants(finished, runs[1])
    assert named(tool_run, "weather lookup"), "the tool's own span belongs to the second run"
    if framework_telemetry:
        assert named(tool_run, "execute_tool get_weather")
    assert responses[1].text == "Forecast: sunny in Paris"


@FRAMEWORK
@STREAM
@pytest.mark.parametrize("mode", ["responses", "conversation", "local"])
async def test_response_ids_only_on_their_own_spans(
    spans: InMemorySpanExporter, framework_telemetry: bool, mode: Any, stream: bool
) -> None:
    agent = make_agent(mode)
    session = agent.create_session(session_id="session-42")

    responses = await _three_turns(agent, session, stream=stream)

    finished = spans.get_finished_spans()
    runs = sorted(named(finished, "invoke_agent"), key=lambda span: span.start_time or 0)
    for run, response in zip(runs, responses, strict=True):
        assert response.response_id
        # The span that produced the response carries its id: the framework's chat span when its
        # telemetry is on (it leaves invoke_agent without it, on both paths), else our run span.
        assert attrs(run).get(attr.GEN_AI_RESPONSE_ID) == (None if framework_telemetry else response.response_id)
        for span in descendants(finished, run)[1:]:
            value = attrs(span).get(attr.GEN_AI_RESPONSE_ID)
            # Only the chat span that produced a response carries its id.
            assert value is None or span.name.startswith("chat "), span.name
    carriers: dict[str, list[str]] = {}
    for span in finished:
        value = attrs(span).get(attr.GEN_AI_RESPONSE_ID)
        if value is not None:
            carriers.setdefault(value, []).append(span.name)
    for response in responses:
        expected = ["chat scripted-model-1"] if framework_telemetry else ["invoke_agent concierge"]
        assert sorted(carriers[response.response_id]) == sorted(expected)


@FRAMEWORK
@STREAM
async def test_previous_response_handle_is_on_the_run_that_used_it(
    spans: InMemorySpanExporter, framework_telemetry: bool, stream: bool
) -> None:
    agent = make_agent("responses")
    session = agent.create_session(session_id="session-42")

    responses = await _three_turns(agent, session, stream=stream)

    finished = spans.get_finished_spans()
    runs = sorted(named(finished, "invoke_agent"), key=lambda span: span.start_time or 0)
    assert attr.GEN_AI_PREVIOUS_RESPONSE_ID not in attrs(runs[0])
    assert attrs(runs[1])[attr.GEN_AI_PREVIOUS_RESPONSE_ID] == responses[0].response_id
    assert attrs(runs[2])[attr.GEN_AI_PREVIOUS_RESPONSE_ID] == responses[1].response_id
    for run in runs:
        assert attrs(run)[attr.GEN_AI_CONVERSATION_ID] == "session-42"
    if framework_telemetry:
        # Each chat span carries the handle its call actually sent.
        client = agent.client
        sent = [request.conversation_id for request in client.requests]
        chats = sorted(named(finished, "chat "), key=lambda span: span.start_time or 0)
        assert [attrs(chat).get(attr.GEN_AI_PREVIOUS_RESPONSE_ID) for chat in chats] == sent
        assert sent[0] is None and all(handle and handle.startswith("resp_") for handle in sent[1:])


@FRAMEWORK
async def test_service_conversation_known_up_front_is_the_conversation(
    spans: InMemorySpanExporter, framework_telemetry: bool
) -> None:
    agent = make_agent("conversation")
    conversation = agent.client.create_conversation()
    session = agent.get_session(conversation, session_id="session-42")

    await _three_turns(agent, session, stream=False)

    finished = spans.get_finished_spans()
    runs = named(finished, "invoke_agent")
    assert len(runs) == 3
    for run in runs:
        for span in descendants(finished, run):
            assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == conversation, span.name
            assert attrs(span)[attr.SESSION_ID] == "session-42", span.name
            assert attr.GEN_AI_PREVIOUS_RESPONSE_ID not in attrs(span), span.name


async def test_restored_session_keeps_its_identity_across_processes(spans: InMemorySpanExporter) -> None:
    agent = make_agent("responses")
    session = agent.create_session(session_id="session-42")
    first = await run_turn(agent, TURNS[0], session, stream=False)

    restored = AgentSession.from_dict(session.to_dict())
    await run_turn(agent, TURNS[2], restored, stream=False)

    run = sorted(named(spans.get_finished_spans(), "invoke_agent"), key=lambda span: span.start_time or 0)[-1]
    assert attrs(run)[attr.SESSION_ID] == "session-42"
    assert attrs(run)[attr.GEN_AI_CONVERSATION_ID] == "session-42", "a resp_* handle never becomes the conversation"
    assert attrs(run)[attr.GEN_AI_PREVIOUS_RESPONSE_ID] == first.response_id


async def test_run_without_session_inherits_the_enclosing_scope(spans: InMemorySpanExporter) -> None:
    from otel_identity import session_scope

    agent = make_agent("local")
    with session_scope("app-session", user_id="user-7"):
        await run_turn(agent, TURNS[1], None, stream=False)

    finished = spans.get_finished_spans()
    (run,) = named(finished, "invoke_agent")
    for span in descendants(finished, run):
        assert attrs(span)[attr.SESSION_ID] == "app-session", span.name
        assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == "app-session", span.name
        assert attrs(span)[attr.USER_ID] == "user-7", span.name
        assert attrs(span)[attr.RUN_ID] == attrs(run)[attr.RUN_ID]


async def test_concurrent_runs_of_different_sessions_stay_apart(spans: InMemorySpanExporter) -> None:
    import asyncio

    agent_a, agent_b = make_agent("responses"), make_agent("conversation")
    session_a = agent_a.create_session(session_id="session-a")
    session_b = agent_b.create_session(session_id="session-b")

    async def converse(agent: Any, session: AgentSession, stream: bool) -> None:
        for turn in TURNS:
            await run_turn(agent, turn, session, stream=stream)

    await asyncio.gather(converse(agent_a, session_a, True), converse(agent_b, session_b, False))

    finished = spans.get_finished_spans()
    runs = named(finished, "invoke_agent")
    assert len(runs) == 6
    for run in runs:
        session_id = attrs(run)[attr.SESSION_ID]
        assert session_id in ("session-a", "session-b")
        for span in descendants(finished, run):
            assert attrs(span)[attr.SESSION_ID] == session_id, span.name
            assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == session_id, span.name
            assert attrs(span)[attr.RUN_ID] == attrs(run)[attr.RUN_ID], span.name


def test_instrumentor_is_the_registered_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "agent_framework"]
    assert entry.load() is AgentFrameworkInstrumentor
    assert AgentFrameworkInstrumentor().instrumentation_dependencies() == ("agent-framework-core >= 1.23, < 2",)
