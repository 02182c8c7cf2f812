"""Benchmark 6: sampling that keeps whole sessions, against the SDK's per-trace ratio.

10,000 sessions of 3 turns each cross two in-process "services" (two SDK tracer providers,
the caller's context handed to the callee through the real propagators: ``traceparent``; the
callee is not trusted, so it follows the caller's flag). Both services sample at 0.1 with the same sampler:

* ``ours``: :func:`otel_identity.session_sampler` (parent-based, roots decided by ``session.id``);
* ``traceidratio``: the SDK's ``ParentBased(TraceIdRatioBased(0.1))``, what a team turns on today.

A session is *partial* when some but not all of its traces were exported (on either side).
Then the sampler's own cost per root span: ``should_sample`` for a root inside a session
scope, ours against ``TraceIdRatioBased`` (a hash of the session id against a bit mask of
the trace id), over 10,000 distinct sessions so that our small hash cache does not help;
interleaved rounds as in every benchmark here. Informational rows: no target but "0 partial
sessions" for ours. Sessions are attributed from the root span each turn opened, so
sampled-out traces are known too.

Run alone: ``python benchmarks/run.py --only 6`` (or ``python benchmarks/bench_sampling.py``).
"""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Measured, Row, Variant, measure, timed
from opentelemetry.context import Context, get_current
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import otel_identity
from otel_identity import IdentityBaggagePropagator, SessionRatioSampler, session_sampler

__all__ = ["run"]

RATIO: Final = 0.1
TURNS: Final = 3
CONTEXTS: Final = 10_000
PROPAGATOR: Final = CompositePropagator([TraceContextTextMapPropagator(), IdentityBaggagePropagator()])


def _service(sampler: Sampler) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    otel_identity.add_identity_processor(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _partial_sessions(make: type[Sampler] | None, sessions: int) -> tuple[int, int]:
    """(partial sessions, kept sessions) of ``sessions`` x ``TURNS`` turns over two services."""
    sampler: Sampler = session_sampler(RATIO) if make is None else ParentBased(TraceIdRatioBased(RATIO))
    caller, caller_spans = _service(sampler)
    callee, callee_spans = _service(sampler)
    caller_tracer, callee_tracer = caller.get_tracer("concierge"), callee.get_tracer("hotels")
    session_of_trace: dict[int, str] = {}
    for index in range(sessions):
        with otel_identity.session_scope(f"session-{index}"):
            for turn in range(TURNS):
                with caller_tracer.start_as_current_span(f"turn {turn}") as root:
                    session_of_trace[root.get_span_context().trace_id] = f"session-{index}"
                    with caller_tracer.start_as_current_span("a2a call", kind=SpanKind.CLIENT):
                        carrier: dict[str, str] = {}
                        PROPAGATOR.inject(carrier)
                incoming = PROPAGATOR.extract(carrier, context=Context())
                with callee_tracer.start_as_current_span("served", context=incoming, kind=SpanKind.SERVER):
                    pass
    turns: dict[tuple[str, str], set[int]] = {}
    for side, exporter in (("caller", caller_spans), ("callee", callee_spans)):
        for span in exporter.get_finished_spans():
            session = session_of_trace[span.context.trace_id]
            turns.setdefault((side, session), set()).add(span.context.trace_id)
    kept = {session for side, session in turns if side == "caller"}
    partial = {
        session
        for session in kept | {session for _, session in turns}
        if len(turns.get(("caller", session), ())) != TURNS or len(turns.get(("callee", session), ())) != TURNS
    }
    return len(partial), len(kept)


def _decision_variants() -> list[Variant]:
    ours = SessionRatioSampler(RATIO)
    sdk = TraceIdRatioBased(RATIO)
    rng = random.Random(3)
    # 10,000 sessions visited in turn: more than the hash cache holds, so every decision hashes.
    trace_ids = [rng.getrandbits(128) for _ in range(CONTEXTS)]
    contexts = []
    for index in range(CONTEXTS):
        with otel_identity.session_scope(f"session-{index}"):
            contexts.append(get_current())

    offset = itertools.count(0, 7919)

    def batch(sampler: Sampler) -> object:
        def run_batch(ops: int) -> int:
            def work() -> None:
                start = next(offset)
                for op in range(start, start + ops):
                    sampler.should_sample(contexts[op % CONTEXTS], trace_ids[op % CONTEXTS], "invoke_agent")

            return timed(work)

        return run_batch

    return [Variant("ours", batch(ours)), Variant("traceidratio", batch(sdk))]  # type: ignore[arg-type]


def run(*, quick: bool) -> list[Row]:
    sessions = 1_000 if quick else 10_000
    ours_partial, ours_kept = _partial_sessions(None, sessions)
    sdk_partial, sdk_kept = _partial_sessions(TraceIdRatioBased, sessions)
    rounds, repeats = (5, 1) if quick else (41, 3)
    cost: Measured = measure(_decision_variants(), ops=500 if quick else 2000, rounds=rounds, repeats=repeats)
    label = f"6. partial sessions of {sessions:,} ({TURNS} turns, 2 services, ratio {RATIO})"
    return [
        Row(
            label,
            f"ours: {ours_partial} partial, {ours_kept} kept; traceidratio: {sdk_partial} partial, {sdk_kept} kept",
            f"{ours_partial} vs {sdk_partial}",
            "-",
            "0 (ours)",
            ours_partial == 0,
        ),
        Row.ratio("6. sampler cost per root span: ours / TraceIdRatioBased", cost, "ours", "traceidratio", limit=None),
    ]


if __name__ == "__main__":
    from _harness import table

    print(table(run(quick="--quick" in sys.argv)))
