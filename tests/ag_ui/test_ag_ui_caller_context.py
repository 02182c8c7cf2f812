"""No ASGI server instrumentation: the AG-UI route itself continues the caller's trace and reads its baggage.

The test's own HTTP client is not instrumented: the headers it sends are the caller's. The endpoint
is added after ``instrument()`` (as under ``opentelemetry-instrument``), through
the package's ``add_agent_framework_fastapi_endpoint``.
"""

from __future__ import annotations

from collections.abc import Callable

import agent_framework_ag_ui
import httpx
import pytest
from ag_ui_support import AGUIServer, make_agent
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from otel_identity_ag_ui import AGUIInstrumentor

from otel_identity import attributes as attr

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
HEADERS = {"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01", "baggage": "session.id=caller-session-9"}
BODY = {"threadId": "ctx-thread", "runId": "ctx-run", "messages": [{"id": "m", "role": "user", "content": "weather?"}]}


def _app() -> FastAPI:
    app = FastAPI()
    agent_framework_ag_ui.add_agent_framework_fastapi_endpoint(app, make_agent(), "/agent", single_user=True)
    return app


@pytest.mark.parametrize("accept", [True, False], ids=["accepted", "ignored"])
def test_route_continues_the_callers_trace(
    ag_ui: AGUIInstrumentor,
    agent_framework: object,
    framework_telemetry: None,
    spans: InMemorySpanExporter,
    trust: Callable[..., None],
    accept: bool,
) -> None:
    trust([], accept_inbound=lambda claim: accept)
    with AGUIServer(_app(), asgi_instrumentation=False) as server:
        response = httpx.post(f"{server.base_url}/agent", json=BODY, headers=HEADERS, timeout=30)
    assert response.status_code == 200 and "Forecast: sunny in Paris" in response.text

    finished = list(spans.get_finished_spans())
    assert not [span for span in finished if span.kind is SpanKind.SERVER]  # no HTTP server instrumentation
    run = [span for span in finished if span.name.startswith(("invoke_agent", "chat", "execute_tool"))]
    assert {span.name.split(" ")[0] for span in run} == {"invoke_agent", "chat", "execute_tool"}
    for span in run:
        attributes = span.attributes or {}
        assert f"{span.context.trace_id:032x}" == TRACE_ID, span.name
        assert attributes[attr.SESSION_ID] == ("caller-session-9" if accept else "ctx-thread"), span.name
        assert attributes[attr.GEN_AI_CONVERSATION_ID] == "ctx-thread", span.name


def test_routes_pass_through_after_uninstrument(
    ag_ui: AGUIInstrumentor, spans: InMemorySpanExporter, framework_telemetry: None
) -> None:
    app = _app()  # routes wrapped while instrumented
    ag_ui.uninstrument()
    try:
        with AGUIServer(app, asgi_instrumentation=False) as server:
            response = httpx.post(f"{server.base_url}/agent", json=BODY, headers=HEADERS, timeout=30)
    finally:
        ag_ui.instrument()
    assert response.status_code == 200
    traces = {f"{span.context.trace_id:032x}" for span in spans.get_finished_spans()}
    assert traces and TRACE_ID not in traces
