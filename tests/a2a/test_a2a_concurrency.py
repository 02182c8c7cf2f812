"""Twenty concurrent sessions across two A2A servers: every span lands in its own session.

Each session runs two turns through agent-framework's ``A2AAgent`` against one of two
servers hosting agent-framework agents. Requests of different sessions interleave on the
client's event loop and on each server's loop; the a2a-sdk's background tasks of one task
keep the context of its first request. None of that may move a span into another session.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from a2a_servers import A2AServer, framework_executor
from a2a_spans import Spans, attributes
from agent_framework_a2a import A2AAgent
from opentelemetry.trace import SpanKind
from otel_identity_a2a import A2AInstrumentor

import otel_identity
from otel_identity import attributes as attr

SESSIONS = 20


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[A2AServer, A2AServer]]:
    with (
        A2AServer(framework_executor(name="flights"), name="flights") as flights,
        A2AServer(framework_executor(stream=True, name="hotels"), name="hotels") as hotels,
    ):
        yield flights, hotels


async def test_twenty_concurrent_sessions_never_cross_talk(
    servers: tuple[A2AServer, A2AServer], trust: Any, a2a_spans: Spans, instrumented: A2AInstrumentor
) -> None:
    trust([f"127.0.0.1:{server.port}" for server in servers])
    contexts: dict[str, str] = {}

    async def session(index: int, http: httpx.AsyncClient) -> None:
        server = servers[index % 2]
        agent = A2AAgent(agent_card=server.card, http_client=http)
        name = f"sess-{index:02d}"
        with otel_identity.session_scope(name):
            af_session = agent.create_session(session_id=name)
            await agent.run(f"trip {index}", session=af_session)
            await agent.run(f"again {index}", session=af_session)
        state = af_session.service_session_id
        assert isinstance(state, dict)
        contexts[state["context_id"]] = name

    async with httpx.AsyncClient() as http:
        await asyncio.gather(*(session(index, http) for index in range(SESSIONS)))
    assert len(contexts) == SESSIONS

    def chat_spans(spans: Spans) -> list[Any]:
        return [s for s in spans.all() if attributes(s).get(attr.GEN_AI_OPERATION_NAME) == "chat"]

    await a2a_spans.until(
        lambda s: (
            len(s.ours(SpanKind.SERVER, "SendMessage")) == 2 * SESSIONS
            and len(s.ours(SpanKind.CLIENT, "SendMessage")) == 2 * SESSIONS
            and len(chat_spans(s)) == 2 * SESSIONS
        ),
        timeout=30,
    )

    # Every span that names a conversation carries the session that conversation belongs to.
    checked: dict[str, int] = defaultdict(int)
    for span in a2a_spans.all():
        conversation = attributes(span).get(attr.GEN_AI_CONVERSATION_ID)
        if conversation in contexts:
            assert attributes(span).get(attr.SESSION_ID) == contexts[str(conversation)], (span.name, span.kind)
            checked[contexts[str(conversation)]] += 1
    assert sorted(checked) == sorted(contexts.values())
    # Client span, server span and the hosted agent's chat span of each turn, per session.
    assert all(count >= 6 for count in checked.values()), checked

    # Each trace belongs to one session only (client side and server side alike).
    sessions_by_trace: dict[int, set[object]] = defaultdict(set)
    for span in a2a_spans.all():
        session_id = attributes(span).get(attr.SESSION_ID)
        if session_id is not None:
            sessions_by_trace[span.context.trace_id].add(session_id)
    assert sessions_by_trace and all(len(found) == 1 for found in sessions_by_trace.values())

    # Both turns of a session share one conversation and one trace per turn.
    for context_id, name in contexts.items():
        turns = [
            span
            for span in a2a_spans.ours(SpanKind.CLIENT, "SendMessage")
            if attributes(span).get(attr.SESSION_ID) == name
        ]
        assert len(turns) == 2
        assert {attributes(span)[attr.GEN_AI_CONVERSATION_ID] for span in turns} == {context_id}
