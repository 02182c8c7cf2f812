"""Instrumentation adds identity and changes nothing else: spans, results, exceptions, sessions.

Each scenario runs twice on fresh but identical agents (the scripted client's ids are
deterministic per client): once without the instrumentor, once with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from af_support import TURNS, attrs, make_agent, named, parent_name, run_turn
from agent_framework import AgentSession
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import GEN_AI_AGENT_ID, GEN_AI_PROVIDER_NAME
from otel_identity_agent_framework import AgentFrameworkInstrumentor

from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule

pytestmark = pytest.mark.usefixtures("framework_telemetry")

Scenario = Callable[[], Awaitable[tuple[list[Any], AgentSession]]]


def _scenario(mode: Any, stream: bool) -> Scenario:
    async def run() -> tuple[list[Any], AgentSession]:
        agent = make_agent(mode)
        session = agent.create_session(session_id="session-42")
        return [await run_turn(agent, turn, session, stream=stream) for turn in TURNS], session

    return run


def _compared(key: str) -> bool:
    """Attributes compared: all but ours and timings."""
    return key not in attr.IDENTITY_ATTRIBUTES and not key.endswith(".duration")


def _shape(spans: InMemorySpanExporter) -> list[tuple[str, str, str, str]]:
    """Name, parent's name, kind and non-identity attributes of every span, in a stable order."""
    finished = spans.get_finished_spans()
    return sorted(
        (
            span.name,
            str(parent_name(finished, span)),
            span.kind.name,
            repr(sorted((key, value) for key, value in attrs(span).items() if _compared(key))),
        )
        for span in finished
    )


_RANDOM_ID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _stable(value: object) -> str:
    """JSON of ``value`` with the framework's random ids (uuid4) blanked; everything else compared."""
    return _RANDOM_ID.sub("<random>", json.dumps(value, sort_keys=True, default=repr))


async def _twice(spans: InMemorySpanExporter, scenario: Scenario) -> tuple[Any, Any]:
    spans.clear()
    plain = await scenario()
    plain_shape = _shape(spans)
    spans.clear()
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument()
    try:
        instrumented = await scenario()
    finally:
        instrumentor.uninstrument()
    return (plain, plain_shape), (instrumented, _shape(spans))


@pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
@pytest.mark.parametrize("mode", ["responses", "conversation", "local"])
async def test_framework_spans_unchanged_but_for_identity(spans: InMemorySpanExporter, mode: Any, stream: bool) -> None:
    (plain, plain_shape), (instrumented, instrumented_shape) = await _twice(spans, _scenario(mode, stream))

    assert [name for name, *_ in instrumented_shape] == [name for name, *_ in plain_shape]
    assert instrumented_shape == plain_shape
    plain_responses, plain_session = plain
    responses, session = instrumented
    assert [_stable(response.to_dict()) for response in responses] == [
        _stable(response.to_dict()) for response in plain_responses
    ]
    assert _stable(session.to_dict()) == _stable(plain_session.to_dict())
    assert AgentSession.from_dict(session.to_dict()).to_dict() == session.to_dict()


async def test_framework_conversation_attribute_is_enriched_not_duplicated(spans: InMemorySpanExporter) -> None:
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument()
    try:
        agent = make_agent("responses")
        session = agent.create_session(session_id="session-42")
        for turn in TURNS:
            await run_turn(agent, turn, session, stream=False)
    finally:
        instrumentor.uninstrument()

    finished = spans.get_finished_spans()
    assert len(named(finished, "invoke_agent")) == 3
    for span in named(finished, "invoke_agent") + named(finished, "chat "):
        # The framework's own attribute holds the stable id; no span has a rotating resp_* there.
        assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == "session-42", span.name


@pytest.mark.parametrize("framework_telemetry", [False], indirect=True, ids=["af-off"])
async def test_own_run_span_matches_the_framework_span(spans: InMemorySpanExporter) -> None:
    from agent_framework.observability import enable_instrumentation

    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument()
    try:
        await run_turn(make_agent("local"), TURNS[0], None, stream=False)
        (ours,) = named(spans.get_finished_spans(), "invoke_agent")
        spans.clear()
        enable_instrumentation(force=True)
        await run_turn(make_agent("local"), TURNS[0], None, stream=False)
        (theirs,) = named(spans.get_finished_spans(), "invoke_agent")
    finally:
        instrumentor.uninstrument()

    assert ours.name == theirs.name == "invoke_agent concierge"
    assert ours.kind == theirs.kind
    for key in (attr.GEN_AI_OPERATION_NAME, attr.GEN_AI_AGENT_NAME, GEN_AI_AGENT_ID, GEN_AI_PROVIDER_NAME):
        assert attrs(ours)[key] == attrs(theirs)[key], key


@pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
async def test_exceptions_pass_through_unchanged(spans: InMemorySpanExporter, stream: bool) -> None:
    failure = RuntimeError("model overloaded")

    async def scenario() -> tuple[list[Any], AgentSession]:
        agent = make_agent("responses", rules=[Rule("boom", raises=failure)])
        session = agent.create_session(session_id="session-42")
        with pytest.raises(RuntimeError) as raised:
            await run_turn(agent, "boom", session, stream=stream)
        assert raised.value is failure
        return [], session

    (_, plain_shape), (instrumented, instrumented_shape) = await _twice(spans, scenario)

    assert instrumented_shape == plain_shape
    assert instrumented[1].service_session_id is None
