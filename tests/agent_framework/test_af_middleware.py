"""``IdentityAgentMiddleware``: explicit wiring, without patching, and its limits."""

from __future__ import annotations

import pytest
from af_support import TURNS, attrs, descendants, make_agent, named, response_span, run_turn
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_identity_agent_framework import AgentFrameworkInstrumentor, IdentityAgentMiddleware

from otel_identity import attributes as attr
from otel_identity import get_identities


@pytest.mark.usefixtures("framework_telemetry")
@pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
async def test_middleware_alone_scopes_every_span_of_the_run(spans: InMemorySpanExporter, stream: bool) -> None:
    agent = make_agent("responses", middleware=[IdentityAgentMiddleware()])
    session = agent.create_session(session_id="session-42")

    for turn in TURNS:
        await run_turn(agent, turn, session, stream=stream)
        assert get_identities() is None

    finished = spans.get_finished_spans()
    runs = named(finished, "invoke_agent")
    assert len(runs) == 3
    for run in runs:
        members = descendants(finished, run)
        for span in members:
            assert attrs(span)[attr.SESSION_ID] == "session-42", span.name
            assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == "session-42", span.name
            assert attrs(span)[attr.RUN_ID] == attrs(run)[attr.RUN_ID], span.name
        # Not covered without the instrumentor: result ids on the run span (the framework's own
        # rule keeps the response id on the chat span).
        assert attr.GEN_AI_PREVIOUS_RESPONSE_ID not in attrs(run)


@pytest.mark.usefixtures("framework_telemetry")
@pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
async def test_middleware_defers_to_the_instrumentor(spans: InMemorySpanExporter, stream: bool) -> None:
    agent = make_agent("responses", middleware=[IdentityAgentMiddleware()])
    session = agent.create_session(session_id="session-42")
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument()
    try:
        responses = [await run_turn(agent, turn, session, stream=stream) for turn in TURNS]
    finally:
        instrumentor.uninstrument()

    finished = spans.get_finished_spans()
    runs = sorted(named(finished, "invoke_agent"), key=lambda span: span.start_time or 0)
    for run, response in zip(runs, responses, strict=True):
        # Recorded once, by the span that produced it: a second run opened by the middleware would add another.
        response_span(finished, run, response.response_id or "")
        for span in descendants(finished, run):
            assert attrs(span)[attr.RUN_ID] == attrs(run)[attr.RUN_ID], (
                "one run id: the middleware opened no second run"
            )
    assert attrs(runs[1])[attr.GEN_AI_PREVIOUS_RESPONSE_ID] == responses[0].response_id
