"""Identity on log records emitted inside a real agent-framework run, through the real SDK logs pipeline.

An ``Agent`` on the scripted chat client (only the model is scripted) runs with its own
telemetry and sensitive data on, so it emits GenAI message events through the OpenTelemetry
logger. Inside its tools the app logs with Python ``logging``; a failing tool makes the
framework log a warning. Every one of those records must carry the run's ``session.id``,
conversation and run id, taken from the run's ``invoke_agent`` span.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from agent_framework import Agent, tool
from agent_framework.observability import OBSERVABILITY_SETTINGS, enable_instrumentation
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_identity_agent_framework import AgentFrameworkInstrumentor

from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

IDENTITY_KEYS = (attr.SESSION_ID, attr.GEN_AI_CONVERSATION_ID, attr.RUN_ID)
app_log = logging.getLogger("tests.logs.app")


@tool
def find_hotel(city: str) -> str:
    """Find a hotel; the app logs what it does, as apps do."""
    app_log.warning("looking up hotels", extra={"asked_for": city})
    return f"Hotel Lisboa in {city}"


@tool
def flaky_rates(city: str) -> str:
    """Always fails: agent-framework logs a warning and hands the model an error result."""
    raise RuntimeError(f"rates service down for {city}")


def make_agent() -> Agent[Any]:
    rules = [
        Rule("rates", tool="flaky_rates", arguments=lambda text: {"city": text.split()[-1]}, answer="No rates."),
        Rule("hotel", tool="find_hotel", arguments=lambda text: {"city": text.split()[-1]}, answer="{result}"),
    ]
    client = ScriptedChatClient(mode="conversation", rules=rules)
    return Agent(client, name="concierge", id="concierge-1", tools=[find_hotel, flaky_rates])


@pytest.fixture
def instrumented_agents(tracer_provider: object) -> Iterator[None]:
    """Our instrumentor on, the framework's telemetry with sensitive data on (GenAI events); restored after."""
    saved = (OBSERVABILITY_SETTINGS.enable_instrumentation, OBSERVABILITY_SETTINGS.enable_sensitive_data)
    enable_instrumentation(enable_sensitive_data=True, enable_message_events=True, force=True)
    instrumentor = AgentFrameworkInstrumentor()
    instrumentor.instrument()
    yield
    instrumentor.uninstrument()
    OBSERVABILITY_SETTINGS.enable_instrumentation, OBSERVABILITY_SETTINGS.enable_sensitive_data = saved


def identity(record: ReadableLogRecord) -> tuple[object, ...]:
    found = record.log_record.attributes or {}
    return tuple(found.get(key) for key in IDENTITY_KEYS)


def run_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.name.startswith("invoke_agent")]


async def test_records_inside_a_run_carry_the_runs_identities(
    logs: InMemoryLogRecordExporter, spans: InMemorySpanExporter, instrumented_agents: None
) -> None:
    agent = make_agent()
    session = agent.create_session(session_id="trip-lisbon")
    await agent.run("find a hotel in Lisbon", session=session)
    await agent.run("and the rates in Lisbon", session=session)

    runs = run_spans(spans)
    assert len(runs) == 2
    expected = {tuple((run.attributes or {}).get(key) for key in IDENTITY_KEYS) for run in runs}
    assert all(value is not None for run in expected for value in run)
    assert {run[0] for run in expected} == {"trip-lisbon"}
    records = logs.get_finished_logs()
    app = [r for r in records if r.log_record.attributes and r.log_record.attributes.get("asked_for") == "Lisbon"]
    framework = [r for r in records if "flaky_rates" in str(r.log_record.body) and r.log_record.severity_text == "WARN"]
    events = [r for r in records if (r.log_record.event_name or "").startswith("gen_ai.")]
    assert app and framework and events, [str(r.log_record.body)[:60] for r in records]
    for record in [*app, *framework, *events]:
        assert identity(record) in expected, (record.log_record.event_name, record.log_record.body)
    assert {identity(r) for r in events} == expected  # both runs' events, each with its own run id


async def test_records_outside_any_scope_carry_no_identity(
    logs: InMemoryLogRecordExporter, instrumented_agents: None
) -> None:
    app_log.warning("started, no session yet")
    agent = make_agent()
    await agent.run("find a hotel in Porto", session=agent.create_session(session_id="trip-porto"))
    app_log.warning("between sessions")
    records = logs.get_finished_logs()
    outside = [r for r in records if r.log_record.body in ("started, no session yet", "between sessions")]
    assert len(outside) == 2
    for record in outside:
        assert set(record.log_record.attributes or {}).isdisjoint(IDENTITY_KEYS)
    inside = [r for r in records if (r.log_record.attributes or {}).get("asked_for") == "Porto"]
    assert [identity(r)[0] for r in inside] == ["trip-porto"]


async def test_thousand_concurrent_sessions_have_no_cross_talk(
    logs: InMemoryLogRecordExporter, instrumented_agents: None
) -> None:
    agent = make_agent()

    async def one(index: int) -> None:
        session = agent.create_session(session_id=f"s-{index}")
        await agent.run(f"find a hotel in city-{index}", session=session)

    await asyncio.gather(*(one(index) for index in range(1000)))
    by_city: dict[str, list[ReadableLogRecord]] = {}
    for record in logs.get_finished_logs():
        city = (record.log_record.attributes or {}).get("asked_for")
        if isinstance(city, str):
            by_city.setdefault(city, []).append(record)
    assert len(by_city) == 1000
    wrong = {
        city: identity(record)[0]
        for city, records in by_city.items()
        for record in records
        if identity(record)[0] != "s-" + city.removeprefix("city-")
    }
    assert wrong == {}
