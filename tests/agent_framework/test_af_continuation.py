"""Continuation tokens of background runs (OpenAI style): marked issued / resumed on the run span, never raw."""

from __future__ import annotations

import json

import pytest
from af_support import attrs, make_agent, named
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule

pytestmark = pytest.mark.usefixtures("instrumentor")


@pytest.mark.parametrize("framework_telemetry", [True, False], indirect=True, ids=["af-on", "af-off"])
@pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
async def test_background_run_issues_and_the_next_run_resumes(
    spans: InMemorySpanExporter, framework_telemetry: bool, stream: bool
) -> None:
    agent = make_agent("responses", rules=[Rule("report", answer="the report is ready")])
    session = agent.create_session(session_id="session-42")

    if stream:
        started_stream = agent.run("write the report", session=session, stream=True, options={"background": True})
        async for _ in started_stream:
            pass
        started = await started_stream.get_final_response()
    else:
        started = await agent.run("write the report", session=session, options={"background": True})
    token = started.continuation_token
    assert token is not None
    finished = await agent.run(session=session, options={"continuation_token": token})
    assert finished.text == "the report is ready"

    first, second = sorted(named(spans.get_finished_spans(), "invoke_agent"), key=lambda span: span.start_time or 0)
    assert attrs(first)[attr.CONTINUATION_ISSUED] is True
    assert attr.CONTINUATION_RESUMED not in attrs(first)
    assert attrs(second)[attr.CONTINUATION_RESUMED] is True
    assert attr.CONTINUATION_ISSUED not in attrs(second)
    for run in (first, second):
        assert attrs(run)[attr.GEN_AI_RESPONSE_ID] == token["response_id"]
        assert attrs(run)[attr.GEN_AI_CONVERSATION_ID] == "session-42"
    raw_forms = {json.dumps(token), repr(token), str(token)}
    for span in spans.get_finished_spans():
        for value in attrs(span).values():
            assert str(value) not in raw_forms, span.name
