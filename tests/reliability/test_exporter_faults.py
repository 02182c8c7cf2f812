"""A broken telemetry pipeline never reaches the app.

The OTLP collector is down (connection refused), slow (holds requests beyond the exporter's
timeout) or answers 500. Spans go through a real ``BatchSpanProcessor(OTLPSpanExporter(...))``
on a provider of the test's own. The app's runs must return what they return without
telemetry, no exception may reach them, memory must stay within the batch queue's bound
(spans are dropped, not piled up), and the operator must see the problem logged, once,
not once per span.
"""

from __future__ import annotations

import gc
import logging
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Final

import pytest
from opentelemetry.sdk.trace import TracerProvider
from otel_identity_agent_framework import AgentFrameworkInstrumentor
from reliability_support import (
    BATCH_SIZE,
    EXPORTER_LOGGER,
    FAULTS,
    OVERLOADED,
    QUEUE_FULL,
    Collector,
    Fault,
    Pipeline,
    broken_pipeline,
    expected_answer,
    make_agent,
    reset_queue_full_warning,
)

from otel_identity import run_scope, session_scope

BURST: Final = 1_000
"""Runs made while the collector misbehaves (two spans each, far beyond the queue of 64)."""
MEMORY_BOUND: Final = 1_000_000
"""Bytes the burst may leave behind. Two thousand retained spans take several MB."""


class _FirstExportFailure(logging.Handler):
    """Sets ``failed`` when the exporter logs its first failed export (so the test waits on an event)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.failed = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.failed.set()


@pytest.fixture
def export_failures() -> Iterator[_FirstExportFailure]:
    handler = _FirstExportFailure()
    logger = logging.getLogger(EXPORTER_LOGGER)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="otel_identity")
    caplog.set_level(logging.WARNING, logger="opentelemetry")
    reset_queue_full_warning()
    return caplog


def _wait_until_stuck_or_failing(fault: Fault, collector: Collector, failures: _FirstExportFailure) -> None:
    """Block until the exporter is wedged in a held request (slow) or has failed once (down, 500)."""
    if fault == "slow":
        assert collector.received.wait(10), "the batch worker never exported"
    else:
        assert failures.failed.wait(10), "the exporter never reported its failure"


def _finish(fault: Fault, collector: Collector, pipeline: Pipeline, failures: _FirstExportFailure) -> None:
    if fault == "slow":
        # The held request outlives the exporter's timeout: it must have failed before release.
        assert failures.failed.wait(10), "the slow collector did not make the exporter time out"
    collector.release.set()
    pipeline.provider.force_flush()


def _assert_logged_once(logs: pytest.LogCaptureFixture, fault: Fault, pipeline: Pipeline) -> None:
    failures = [r for r in logs.records if r.name == EXPORTER_LOGGER and r.levelno >= logging.WARNING]
    assert 1 <= len(failures) <= pipeline.exporter.calls, (len(failures), pipeline.exporter.calls)
    queue_full = [r for r in logs.records if r.getMessage().startswith(QUEUE_FULL)]
    # The SDK repeats it at most once per 20-second window; a test may straddle two windows.
    assert len(queue_full) <= 2
    if fault == "slow":
        assert len(queue_full) >= 1, "the wedged exporter should have made the queue drop spans"
    ours = [r for r in logs.records if r.name.startswith("otel_identity") and r.levelno >= logging.WARNING]
    assert ours == [], "otel-identity itself had nothing to complain about"


@pytest.mark.parametrize("fault", FAULTS)
def test_spans_under_scopes_survive_a_broken_collector(
    fault: Fault, logs: pytest.LogCaptureFixture, export_failures: _FirstExportFailure
) -> None:
    with Collector(fault) as collector:
        pipeline = broken_pipeline(collector, session_prefix="session-")
        tracer = pipeline.provider.get_tracer("app")

        def app_run(index: int) -> int:
            with session_scope(f"session-{index}"), run_scope():
                with tracer.start_as_current_span("handle request"):
                    with tracer.start_as_current_span("call model"):
                        return index * 2

        try:
            results = [app_run(index) for index in range(BATCH_SIZE)]  # a full batch wakes the worker
            _wait_until_stuck_or_failing(fault, collector, export_failures)

            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                results += [app_run(index) for index in range(BATCH_SIZE, BATCH_SIZE + BURST)]
                gc.collect()
                growth = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
            _finish(fault, collector, pipeline, export_failures)
        finally:
            collector.release.set()
            pipeline.provider.shutdown()

    assert results == [index * 2 for index in range(BATCH_SIZE + BURST)]
    assert pipeline.check.ended == 2 * (BATCH_SIZE + BURST)
    assert pipeline.check.wrong == []
    assert growth < MEMORY_BOUND, f"{growth} bytes held after {BURST} runs"
    _assert_logged_once(logs, fault, pipeline)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("framework_telemetry", [False], indirect=True, ids=["af-off"])
async def test_agent_runs_survive_a_broken_collector(
    fault: Fault,
    framework_telemetry: bool,
    logs: pytest.LogCaptureFixture,
    export_failures: _FirstExportFailure,
) -> None:
    """Real agent-framework runs; their run spans are ours on the test's provider.

    agent-framework's own spans always go to the global provider, which this test must not
    replace; with the framework's telemetry off, the instrumentor's ``invoke_agent`` span is
    the run span and is exported through the broken pipeline.
    """
    turns = ("hello there", "what is the weather in Paris?", "tell me a story")
    with Collector(fault) as collector:
        pipeline = broken_pipeline(collector, session_prefix="agent-session-")
        instrumentor = AgentFrameworkInstrumentor()
        instrumentor.instrument(tracer_provider=pipeline.provider)
        agent = make_agent()
        answers: list[str] = []
        expected: list[str] = []

        async def app_run(index: int) -> None:
            session = agent.create_session(session_id=f"agent-session-{index}")
            text = turns[index % len(turns)]
            expected.append(expected_answer(text))
            if index % 2:
                stream = agent.run(text, session=session, stream=True)
                async for _ in stream:
                    pass
                answers.append((await stream.get_final_response()).text)
            else:
                answers.append((await agent.run(text, session=session)).text)

        runs = 0
        try:
            for _ in range(BATCH_SIZE):
                await app_run(runs)
                runs += 1
            _wait_until_stuck_or_failing(fault, collector, export_failures)
            for _ in range(200):
                await app_run(runs)
                runs += 1
            with pytest.raises(RuntimeError) as raised:
                await agent.run("overloaded", session=agent.create_session(session_id="agent-session-failing"))
            runs += 1
            _finish(fault, collector, pipeline, export_failures)
        finally:
            instrumentor.uninstrument()
            collector.release.set()
            pipeline.provider.shutdown()

    assert raised.value is OVERLOADED
    assert answers == expected
    assert pipeline.check.ended == runs
    assert pipeline.check.wrong == []
    _assert_logged_once(logs, fault, pipeline)


def test_a_retained_span_costs_more_than_the_bound() -> None:
    """The memory bound above is meaningful: keeping the burst's spans would exceed it."""
    provider = TracerProvider()
    tracer = provider.get_tracer("app")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = []
        for index in range(BURST):
            with session_scope(f"session-{index}"), run_scope():
                with tracer.start_as_current_span("handle request") as outer:
                    with tracer.start_as_current_span("call model") as inner:
                        kept.append((outer, inner))
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept) == BURST
    assert growth > MEMORY_BOUND
