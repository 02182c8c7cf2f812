"""Trace context and baggage a frontend sends: extracted by the ASGI instrumentation with the global propagator.

otel-identity's propagator validates the claim and the ``accept_inbound`` hook decides; an
accepted ``session.id`` stays the session (the thread is then the conversation), anything
else leaves the thread as the session. The official client sends the headers it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from ag_ui_support import AGUIServer, make_app, run_node_client, server_spans, under
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_identity import InboundIdentity
from otel_identity import attributes as attr

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def server(instrumented: object) -> Iterator[AGUIServer]:
    with AGUIServer(make_app()) as running:
        yield running


def _only_from_gateway(claim: InboundIdentity) -> bool:
    return claim.header("x-gateway") == ["yes"]


@pytest.mark.parametrize(
    ("baggage", "gateway", "session"),
    [
        ("session.id=frontend-session-1", True, "frontend-session-1"),  # accepted by the hook
        ("session.id=frontend-session-1", False, "inbound-thread"),  # refused by the hook
        ("session.id=" + "s" * 300, True, "inbound-thread"),  # not an id: dropped before the hook
        ("session.id=bad%01value", True, "inbound-thread"),
    ],
    ids=["accepted", "refused", "too-long", "control-character"],
)
def test_inbound_claim_validated_and_decided_by_the_hook(
    server: AGUIServer,
    spans: InMemorySpanExporter,
    trust: Callable[..., None],
    baggage: str,
    gateway: bool,
    session: str,
) -> None:
    trust([], accept_inbound=_only_from_gateway)
    headers = {"traceparent": TRACEPARENT, "baggage": baggage}
    if gateway:
        headers["x-gateway"] = "yes"
    threads = [{"threadId": "inbound-thread", "runs": [{"runId": "inbound-run", "text": "weather in Paris?"}]}]
    (result,) = run_node_client(f"{server.base_url}/agent", threads, headers=headers)
    assert result["error"] is None and result["text"] == "Forecast: sunny in Paris"

    finished = server.finished_spans(spans)
    (root,) = server_spans(finished, "/agent")
    assert f"{root.context.trace_id:032x}" == TRACE_ID  # the frontend's trace continues
    request = under(finished, root)
    assert {span.name.split(" ")[0] for span in request} >= {"POST", "invoke_agent", "chat", "execute_tool"}
    for span in request:
        attributes = span.attributes or {}
        assert attributes.get(attr.SESSION_ID) == session, (span.name, attributes)
        assert attributes.get(attr.GEN_AI_CONVERSATION_ID) == "inbound-thread", (span.name, attributes)
