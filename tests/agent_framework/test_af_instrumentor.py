"""The standard instrumentor contract (as in opentelemetry-python-contrib): uninstrument, suppression,
non-recording spans, exceptions, a custom tracer provider."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from af_support import TURNS, attrs, make_agent, named, run_turn
from agent_framework import Agent, BaseChatClient, RawAgent
from agent_framework.exceptions import MiddlewareException
from agent_framework.observability import AgentTelemetryLayer
from agent_framework_a2a import A2AAgent, A2AExecutor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from otel_identity_agent_framework import AgentFrameworkInstrumentor

from otel_identity import add_identity_processor
from otel_identity import attributes as attr

PATCHED = [
    (Agent, "run"),
    (AgentTelemetryLayer, "run"),
    (RawAgent, "run"),
    (BaseChatClient, "get_response"),
    (A2AAgent, "run"),
    (A2AAgent, "poll_task"),
    (A2AAgent, "_prepare_message_for_a2a"),
    (A2AExecutor, "execute"),
]


def _has_identity(spans: InMemorySpanExporter) -> bool:
    return any(attr.SESSION_ID in attrs(span) or attr.RUN_ID in attrs(span) for span in spans.get_finished_spans())


@pytest.mark.usefixtures("framework_telemetry")
async def test_uninstrument_restores_every_patched_method(
    spans: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    originals = [vars(owner)[name] for owner, name in PATCHED]
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument()
    assert all(vars(owner)[name] is not original for (owner, name), original in zip(PATCHED, originals, strict=True))
    agent = make_agent("responses")
    await run_turn(agent, TURNS[0], agent.create_session(session_id="s-1"), stream=False)
    assert _has_identity(spans)

    instrumentor.uninstrument()
    spans.clear()

    assert all(vars(owner)[name] is original for (owner, name), original in zip(PATCHED, originals, strict=True))
    await run_turn(agent, TURNS[0], agent.create_session(session_id="s-2"), stream=True)
    assert named(spans.get_finished_spans(), "invoke_agent")
    assert not _has_identity(spans)


@pytest.mark.parametrize("framework_telemetry", [True, False], indirect=True, ids=["af-on", "af-off"])
@pytest.mark.usefixtures("instrumentor")
@pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
async def test_suppressed_instrumentation_passes_runs_through(
    spans: InMemorySpanExporter, framework_telemetry: bool, stream: bool
) -> None:
    agent = make_agent("responses")
    session = agent.create_session(session_id="s-1")

    with suppress_instrumentation():
        response = await run_turn(agent, TURNS[1], session, stream=stream)

    assert response.text == "Forecast: sunny in Paris"
    assert not _has_identity(spans)
    assert bool(named(spans.get_finished_spans(), "invoke_agent")) is framework_telemetry


@pytest.fixture
def private_provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    provider = TracerProvider()
    add_identity_processor(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.mark.parametrize("framework_telemetry", [False], indirect=True, ids=["af-off"])
@pytest.mark.usefixtures("framework_telemetry")
async def test_custom_tracer_provider_gets_our_spans(
    spans: InMemorySpanExporter, private_provider: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = private_provider
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        agent = make_agent("local")
        await run_turn(agent, TURNS[0], agent.create_session(session_id="s-1"), stream=False)
    finally:
        instrumentor.uninstrument()

    (run,) = named(exporter.get_finished_spans(), "invoke_agent")
    assert attrs(run)[attr.SESSION_ID] == "s-1"
    assert not named(spans.get_finished_spans(), "invoke_agent")


@pytest.mark.parametrize("framework_telemetry", [False], indirect=True, ids=["af-off"])
@pytest.mark.usefixtures("framework_telemetry")
@pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])
async def test_non_recording_run_span(caplog: pytest.LogCaptureFixture, stream: bool) -> None:
    provider = TracerProvider(sampler=ALWAYS_OFF)
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        agent = make_agent("responses")
        session = agent.create_session(session_id="s-1")
        with caplog.at_level(logging.DEBUG, logger="otel_identity"):
            responses = [await run_turn(agent, turn, session, stream=stream) for turn in TURNS]
    finally:
        instrumentor.uninstrument()

    assert [response.text for response in responses][1] == "Forecast: sunny in Paris"
    assert not [record for record in caplog.records if "swallowed" in record.getMessage()]


@pytest.mark.usefixtures("instrumentor", "framework_telemetry")
async def test_synchronous_exceptions_pass_through(spans: InMemorySpanExporter) -> None:
    agent = make_agent("responses")

    def not_a_middleware(context: object) -> None:
        return None

    with pytest.raises(MiddlewareException):
        agent.run("hello", middleware=[not_a_middleware])  # type: ignore[list-item]
    with pytest.raises(MiddlewareException):
        agent.run("hello", stream=True, middleware=[not_a_middleware])  # type: ignore[list-item]


@pytest.mark.usefixtures("framework_telemetry")
def test_instrument_twice_and_uninstrument_twice_are_harmless() -> None:
    instrumentor = AgentFrameworkInstrumentor()
    original = vars(Agent)["run"]
    instrumentor.instrument()
    instrumentor.instrument()
    assert not hasattr(vars(Agent)["run"].__wrapped__, "__wrapped__")
    instrumentor.uninstrument()
    instrumentor.uninstrument()
    assert vars(Agent)["run"] is original


def test_user_guide_example_runs() -> None:
    """The module docstring's example, run as a program (fresh process: it configures tracing globally)."""
    import otel_identity_agent_framework

    guide = otel_identity_agent_framework.__doc__ or ""
    example = textwrap.dedent(guide.split(".. code-block:: python")[1].split("or zero-code")[0])
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "guide"}
    completed = subprocess.run(
        [sys.executable, "-c", example], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert completed.returncode == 0, completed.stderr
    exported = [json.loads(chunk) for chunk in _json_objects(completed.stdout)]
    runs = [span for span in exported if span["name"] == "invoke_agent concierge"]
    assert len(runs) == 2
    sessions = {span["attributes"]["session.id"] for span in exported}
    conversations = {span["attributes"]["gen_ai.conversation.id"] for span in exported}
    assert len(sessions) == 1 and sessions == conversations


def _json_objects(text: str) -> list[str]:
    """Split the console exporter's output (pretty-printed JSON objects, one after another)."""
    decoder = json.JSONDecoder()
    chunks, index = [], 0
    while (start := text.find("{", index)) != -1:
        _, end = decoder.raw_decode(text, start)
        chunks.append(text[start:end])
        index = end
    return chunks
