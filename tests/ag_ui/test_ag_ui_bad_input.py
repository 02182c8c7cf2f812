"""Bad AG-UI input: the endpoint answers exactly as without otel-identity, and no bad value becomes an attribute.

Each request is sent to a fresh endpoint twice, once with nothing of ours instrumented and
once with the AG-UI and agent-framework instrumentors on (the framework's own telemetry and
the ASGI instrumentation on in both): status and body (generated ids aside) must be equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from ag_ui_support import AGUIServer, make_app, normalized
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_identity_ag_ui import AGUIInstrumentor
from otel_identity_agent_framework import AgentFrameworkInstrumentor

from otel_identity import attributes as attr
from otel_identity.instrumentation import clean_id, validate_id

USER = [{"id": "m-1", "role": "user", "content": "weather in Paris?"}]
LONG = "t" * 300
CONTROL = "thread\x01with\x1bcontrols"
HUGE = "x" * 10_240
NOT_IDS = (LONG, CONTROL, HUGE)

BODIES: dict[str, Any] = {
    "messages-not-a-list": {"threadId": "t-1", "runId": "r-1", "messages": "hello"},
    "no-messages": {"threadId": "t-1", "runId": "r-1"},
    "thread-not-a-string": {"threadId": 42, "runId": "r-1", "messages": USER},
    "no-thread-no-run": {"messages": USER},
    "empty-ids": {"threadId": "", "runId": "", "messages": USER},
    "thread-too-long": {"threadId": LONG, "runId": "r-1", "messages": USER},
    "thread-controls": {"threadId": CONTROL, "runId": "r-1", "messages": USER},
    "thread-10kb": {"threadId": HUGE, "runId": "r-1", "messages": USER},
    "thread-spaces": {"threadId": "a thread with spaces", "runId": "r-1", "messages": USER},
    "run-10kb": {"threadId": "t-1", "runId": HUGE, "messages": USER},
    "run-controls": {"threadId": "t-1", "runId": CONTROL, "messages": USER},
    "parent-run-10kb": {"threadId": "t-1", "runId": "r-1", "parentRunId": HUGE, "messages": USER},
}
RAW_BODIES: dict[str, bytes] = {"not-json": b"{", "empty": b""}


def _serve(path: str) -> dict[str, tuple[int, str]]:
    """Every bad request against a fresh app at ``path``: ``name -> (status, normalized body)``."""
    answers: dict[str, tuple[int, str]] = {}
    with AGUIServer(make_app()) as server, httpx.Client(base_url=server.base_url, timeout=30) as client:
        for name, body in BODIES.items():
            response = client.post(path, json=body)
            answers[name] = (response.status_code, normalized(response.text))
        for name, raw in RAW_BODIES.items():
            response = client.post(path, content=raw, headers={"content-type": "application/json"})
            answers[name] = (response.status_code, normalized(response.text))
    return answers


def _values(spans: Sequence[ReadableSpan]) -> list[tuple[str, str, object]]:
    return [(span.name, key, value) for span in spans for key, value in (span.attributes or {}).items()]


def _carries(values: list[tuple[str, str, object]], bad: str) -> list[tuple[str, str]]:
    return [(name, key) for name, key, value in values if isinstance(value, str) and bad in value]


@pytest.mark.parametrize("path", ["/agent", "/workflow"])
def test_bad_input_behaviour_unchanged_and_never_an_attribute(
    path: str, tracer_provider: TracerProvider, spans: InMemorySpanExporter, framework_telemetry: None
) -> None:
    plain = _serve(path)
    plain_values = _values(spans.get_finished_spans())
    spans.clear()

    ag_ui, agent_framework = AGUIInstrumentor(), AgentFrameworkInstrumentor()
    ag_ui.instrument(tracer_provider=tracer_provider)
    agent_framework.instrument()
    try:
        instrumented = _serve(path)
    finally:
        ag_ui.uninstrument()
        agent_framework.uninstrument()
    instrumented_values = _values(spans.get_finished_spans())

    assert instrumented == plain
    assert plain["messages-not-a-list"][0] == 422 and plain["not-json"][0] == 422
    assert plain["thread-10kb"][0] == 200  # served: the endpoint itself accepts such ids
    # Without us the framework writes the raw thread id onto its own spans; with us, no bad value is anywhere.
    assert _carries(plain_values, HUGE)
    for bad in NOT_IDS:
        assert _carries(instrumented_values, bad) == [], bad
    for name, key, value in instrumented_values:
        if key in attr.IDENTITY_ATTRIBUTES and isinstance(value, str):
            validate_id(f"{name} {key}", value)  # every identity attribute is a valid id
    # Whether a value with spaces is an id is the core's decision (clean_id); it appears exactly when it is one.
    spaced = BODIES["thread-spaces"]["threadId"]
    assert bool(_carries(instrumented_values, spaced)) is (clean_id("thread_id", spaced) is not None)
    # A valid request among them still gets its thread and run.
    assert any(key == attr.RUN_ID and value == "r-1" for _, key, value in instrumented_values), (
        "the valid ids of the bad-input requests were not used"
    )
