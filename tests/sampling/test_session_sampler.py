"""The session sampler's decisions, on real SDK tracer providers of the tests' own.

Each provider here has its own sampler (the suite's global provider samples everything), so
the tests use ``provider.get_tracer`` directly; contexts come from our real scopes and the
real propagator.
"""

from __future__ import annotations

import random
from importlib.metadata import entry_points

import pytest
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import otel_identity
from otel_identity import IdentityBaggagePropagator, SessionRatioSampler, session_sampler

PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), IdentityBaggagePropagator()])


def provider_with(sampler: object) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)  # type: ignore[arg-type]
    otel_identity.add_identity_processor(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def kept_sessions(ratio: float, count: int) -> set[str]:
    root = SessionRatioSampler(ratio)
    return {f"session-{index}" for index in range(count) if root.sampled(f"session-{index}")}


def test_every_trace_of_a_session_gets_the_sessions_decision() -> None:
    provider, exporter = provider_with(session_sampler(0.3))
    tracer = provider.get_tracer("t")
    for index in range(300):
        with otel_identity.session_scope(f"session-{index}"):
            for turn in range(3):
                with tracer.start_as_current_span(f"turn {turn}"), tracer.start_as_current_span("chat"):
                    pass
    by_session: dict[str, int] = {}
    for span in exporter.get_finished_spans():
        session = str((span.attributes or {})["session.id"])
        by_session[session] = by_session.get(session, 0) + 1
    assert set(by_session) == kept_sessions(0.3, 300)
    assert set(by_session.values()) == {6}  # whole: 3 traces x 2 spans
    assert 0.2 < len(by_session) / 300 < 0.4


def test_the_decision_is_the_same_in_a_fresh_process() -> None:
    """A stable hash (not Python's salted ``hash``): another service computes the same decision."""
    import subprocess
    import sys

    code = "from otel_identity import SessionRatioSampler as S; r = S(0.5); " + (
        "print(','.join(str(int(r.sampled(f'session-{i}'))) for i in range(64)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={})
    here = SessionRatioSampler(0.5)
    assert out.stdout.strip() == ",".join(str(int(here.sampled(f"session-{i}"))) for i in range(64))


def test_a_callee_follows_the_callers_traceparent_and_decides_by_session_when_only_baggage_arrives(
    trust: object,
) -> None:
    caller, _ = provider_with(session_sampler(0.5))
    callee, callee_spans = provider_with(session_sampler(0.5))
    trust(["callee.internal"])  # type: ignore[operator]
    root = SessionRatioSampler(0.5)
    kept = next(s for s in (f"s-{i}" for i in range(100)) if root.sampled(s))
    dropped = next(s for s in (f"s-{i}" for i in range(100)) if not root.sampled(s))
    for session in (kept, dropped):
        with otel_identity.session_scope(session), caller.get_tracer("c").start_as_current_span("turn"):
            with otel_identity.destination_scope("http://callee.internal/a2a"):
                carrier: dict[str, str] = {}
                PROPAGATOR.inject(carrier)
        assert "session.id" in carrier["baggage"]
        with callee.get_tracer("s").start_as_current_span("served", context=PROPAGATOR.extract(carrier)):
            pass
        baggage_only = {"baggage": carrier["baggage"]}  # trace context lost on a queue
        with callee.get_tracer("s").start_as_current_span("dequeued", context=PROPAGATOR.extract(baggage_only)):
            pass
    served = {(span.name, (span.attributes or {}).get("session.id")) for span in callee_spans.get_finished_spans()}
    assert served == {("served", kept), ("dequeued", kept)}


def test_spans_without_a_session_fall_back_to_the_sdks_trace_id_ratio() -> None:
    ours = SessionRatioSampler(0.25)
    sdk = TraceIdRatioBased(0.25)
    rng = random.Random(7)
    for _ in range(2000):
        trace_id = rng.getrandbits(128)
        assert ours.should_sample(None, trace_id, "x").decision is sdk.should_sample(None, trace_id, "x").decision


def test_a_session_attribute_at_span_start_decides_a_root_outside_any_scope() -> None:
    root = SessionRatioSampler(0.5)
    for index in range(50):
        session = f"attr-{index}"
        decision = root.should_sample(None, 1, "request", attributes={"session.id": session}).decision
        assert (decision is Decision.RECORD_AND_SAMPLE) is root.sampled(session)


def test_client_spans_of_a_dropped_session_record_but_are_not_exported() -> None:
    """So the propagator still sees where a request goes (README, Known limits)."""
    provider, exporter = provider_with(session_sampler(0.0))
    tracer = provider.get_tracer("t")
    with otel_identity.session_scope("dropped"), tracer.start_as_current_span("turn") as turn:
        with tracer.start_as_current_span("GET", kind=SpanKind.CLIENT) as client:
            client.set_attribute("url.full", "http://peer.internal/x")
            assert client.is_recording() and not client.get_span_context().trace_flags.sampled
        with tracer.start_as_current_span("internal") as internal:
            assert not internal.is_recording()
        assert not turn.is_recording()
    with tracer.start_as_current_span("GET", kind=SpanKind.CLIENT) as no_session:
        assert not no_session.is_recording()  # ratio 0 by trace id: dropped, not recorded
    assert exporter.get_finished_spans() == ()


def test_the_entry_point_takes_the_argument_string_as_the_sdk_passes_it(caplog: pytest.LogCaptureFixture) -> None:
    (entry_point,) = entry_points(group="opentelemetry_traces_sampler", name="otel_identity_session")
    factory = entry_point.load()
    sampler = factory("0.1")
    assert isinstance(sampler, ParentBased)
    assert "SessionRatioSampler{0.1}" in sampler.get_description()
    assert "SessionRatioSampler{1.0}" in factory(None).get_description()
    assert "SessionRatioSampler{1.0}" in factory("lots").get_description()
    assert "OTEL_TRACES_SAMPLER_ARG='lots' is not a ratio in [0, 1]" in caplog.text


@pytest.mark.parametrize("ratio", [-0.1, 1.5, "0.1", True])
def test_a_bad_ratio_in_code_raises(ratio: object) -> None:
    with pytest.raises(ValueError, match="sampling ratio must be a number in"):
        session_sampler(ratio)  # type: ignore[arg-type]
