"""The scripted chat client behaves like the services it stands for, deterministically."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from af_support import TURNS, make_agent, named, run_turn
from agent_framework import Agent, Message
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

STREAM = pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])


@STREAM
async def test_responses_mode_chains_response_ids(stream: bool) -> None:
    agent = make_agent("responses")
    session = agent.create_session()

    responses = [await run_turn(agent, turn, session, stream=stream) for turn in TURNS]

    assert [response.response_id for response in responses] == ["resp_1", "resp_3", "resp_4"]
    assert session.service_session_id == "resp_4"
    sent = [request.conversation_id for request in agent.client.requests]
    assert sent == [None, "resp_1", "resp_2", "resp_3"], "each call sends the previous response as its handle"


@STREAM
async def test_conversation_mode_keeps_one_conversation(stream: bool) -> None:
    agent = make_agent("conversation")
    session = agent.create_session()

    responses = [await run_turn(agent, turn, session, stream=stream) for turn in TURNS]

    assert [response.response_id for response in responses] == ["resp_1", "resp_3", "resp_4"]
    assert session.service_session_id == "conv_1"
    assert [request.conversation_id for request in agent.client.requests] == [None, "conv_1", "conv_1", "conv_1"]
    assert [len(request.messages) for request in agent.client.requests] == [1, 1, 1, 1], "the service keeps history"


@STREAM
async def test_local_mode_leaves_history_to_the_framework(stream: bool) -> None:
    agent = make_agent("local")
    session = agent.create_session()

    responses = [await run_turn(agent, turn, session, stream=stream) for turn in TURNS]

    assert [response.response_id for response in responses] == ["chatcmpl-1", "chatcmpl-3", "chatcmpl-4"]
    assert session.service_session_id is None
    assert all(request.conversation_id is None for request in agent.client.requests)
    sizes = [len(request.messages) for request in agent.client.requests]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0], "the framework sends the growing local history"


@STREAM
async def test_tool_call_then_answer_from_the_result(stream: bool) -> None:
    calls: list[dict[str, Any]] = []

    def lookup(city: str, days: int) -> str:
        """Forecast."""
        calls.append({"city": city, "days": days})
        return f"{days} days of sun in {city}"

    client = ScriptedChatClient(
        rules=[
            Rule(
                "forecast",
                tool="lookup",
                arguments=lambda text: {"city": text.split()[-1], "days": 3},
                answer="{result}!",
            )
        ]
    )
    agent = Agent(client, tools=[lookup])

    response = await run_turn(agent, "forecast for Rome", None, stream=stream)

    assert calls == [{"city": "Rome", "days": 3}]
    assert response.text.endswith("3 days of sun in Rome!")
    result = client.requests[1].messages[-1].contents[0]
    assert (result.type, result.call_id) == ("function_result", "call_1")


async def test_streaming_yields_several_updates_with_the_same_text() -> None:
    client = ScriptedChatClient(rules=[Rule("poem", answer="roses are red violets are blue")], chunk_words=2)
    message = [Message(role="user", contents=["a poem please"])]

    whole = await client.get_response(message)
    updates = [update async for update in client.get_response(message, stream=True)]

    texts = [update.text for update in updates if update.text]
    assert len(texts) == 3
    assert "".join(texts) == whole.text == "roses are red violets are blue"
    assert updates[-1].finish_reason == "stop"


@STREAM
async def test_failure_injection_raises_the_given_exception(stream: bool) -> None:
    failure = TimeoutError("model timed out")
    agent = make_agent("responses", rules=[Rule("slow", raises=failure)])

    with pytest.raises(TimeoutError) as raised:
        await run_turn(agent, "be slow", agent.create_session(), stream=stream)

    assert raised.value is failure


async def test_gate_holds_the_answer_until_set() -> None:
    gate = asyncio.Event()
    client = ScriptedChatClient(rules=[Rule("hold", answer="released", gate=gate)])
    agent = Agent(client)

    held = asyncio.create_task(agent.run("hold it"))
    free = await agent.run("no gate here")
    assert free.text == "You said: no gate here"
    assert not held.done()
    gate.set()
    assert (await held).text == "released"


async def test_background_response_and_continuation() -> None:
    agent = make_agent("responses", rules=[Rule("report", answer="the report is ready")])
    session = agent.create_session()

    started = await agent.run("write the report", session=session, options={"background": True})
    assert started.continuation_token == {"response_id": started.response_id}
    assert started.text == ""
    finished = await agent.run(session=session, options={"continuation_token": started.continuation_token})

    assert finished.text == "the report is ready"
    assert finished.response_id == started.response_id
    assert finished.continuation_token is None


def test_ids_are_deterministic_per_client() -> None:
    first, second = ScriptedChatClient(mode="conversation"), ScriptedChatClient(mode="conversation")
    assert [first.create_conversation() for _ in range(3)] == [second.create_conversation() for _ in range(3)]
    assert first.create_conversation() == "conv_4"
    with pytest.raises(ValueError):
        ScriptedChatClient(mode="batch")  # type: ignore[arg-type]


@pytest.mark.usefixtures("framework_telemetry")
async def test_framework_chat_telemetry_wraps_it_like_a_real_client(spans: InMemorySpanExporter) -> None:
    agent = make_agent("responses")
    await run_turn(agent, TURNS[1], agent.create_session(), stream=False)

    chats = named(spans.get_finished_spans(), "chat scripted-model-1")
    assert len(chats) == 2
    assert {chat.attributes["gen_ai.provider.name"] for chat in chats} == {"scripted"}  # type: ignore[index]
    assert named(spans.get_finished_spans(), "execute_tool get_weather")
