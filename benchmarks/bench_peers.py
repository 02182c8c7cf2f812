"""Benchmark 5: otel-identity side by side with the peers a user would pick instead.

Each peer is wired the way its own documentation says, and checked to really stamp: before
timing, one checking run counts the spans that carry the right ``session.id``. A variant that
stamps nothing is no result (it would be fast for the wrong reason); one that stamps some
spans shows the count next to its figure.

Two workloads, each against its limit (what nothing can beat):

* **per span**: one ``start_span(...).end()`` with ``session.id`` and 3 other attributes. The
  limit is the bare SDK with all 4 passed explicitly at creation; every other variant passes
  the 3 and gets ``session.id`` from its session mechanism, entered once per batch.
* **per agent-framework run**: a real ``agent_framework.Agent`` on the scripted chat client,
  the framework's telemetry on, sessions of two runs, the second with a tool turn
  (``invoke_agent``, ``chat``, ``execute_tool`` spans). The limit is the framework's own
  telemetry without any session mechanism; each other variant enters its mechanism around
  each run with the run's ``AgentSession.session_id``, except ours with the instrumentor,
  which reads the session itself (what a user installs).

The peers (optional: ``pip install -r benchmarks/requirements.txt``; a missing one is
skipped with a printed line):

* ``opentelemetry-processor-baggage``: ``BaggageSpanProcessor`` + W3C baggage.
* Logfire: ``logfire.set_baggage`` + its baggage-to-attributes processor
  (``DirectBaggageAttributesSpanProcessor``, what ``logfire.configure()`` adds by default;
  added here on a plain SDK provider so the rest of Logfire's pipeline is not measured).
* Langfuse: ``LangfuseSpanProcessor`` + ``propagate_attributes(session_id=...)``. Its
  processor *is* its export pipeline (a ``BatchSpanProcessor``); here its exporter drops
  everything, so nothing leaves the process (checked: no socket connects during the check).
* OpenInference: ``using_session`` is read by OpenInference's tracer, so the documented
  wiring for agent-framework is ``openinference.instrumentation.TracerProvider`` plus
  ``AgentFrameworkToOpenInferenceProcessor`` (which maps the framework's spans to
  OpenInference at span end).

Every variant has its own SDK provider with no exporter (a peer's own pipeline excepted, as
said); agent-framework takes its tracer from the global provider, which switches between
them batch by batch (:mod:`_providers`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Final

from _harness import Measured, Row, Variant, measure, now, timed
from _providers import DropExporter, global_switch
from agent_framework.observability import enable_instrumentation
from bench_agent import TURNS, make_agent
from opentelemetry import baggage
from opentelemetry import context as context_api
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue
from otel_identity_agent_framework import AgentFrameworkInstrumentor

from otel_identity import add_identity_processor, session_scope
from otel_identity import attributes as attr

__all__ = ["run"]

SESSION: Final = "session-0001"
OTHER: Final[dict[str, AttributeValue]] = {"app.route": "/chat", "app.tenant": "tenant-7", "app.retry": 0}
"""The 3 attributes every per-span variant passes itself."""
EXPLICIT: Final[dict[str, AttributeValue]] = {**OTHER, attr.SESSION_ID: SESSION}

PER_SPAN_TARGET: Final = 1.10
PER_RUN_TARGET: Final = 1.05

Scope = Callable[[str], AbstractContextManager[object]]
"""Enters a session mechanism for one session id."""


@dataclass
class Peer:
    """One way to get the session onto spans: a provider factory and the app's scope."""

    name: str
    label: str
    provider: Callable[[], TracerProvider]
    scope: Scope | None
    """``None``: the variant needs no scope from the app (the limit, or an instrumentor)."""
    instrumentor: AgentFrameworkInstrumentor | None = None


def _provider(*processors: SpanProcessor, factory: Callable[[], TracerProvider] = TracerProvider) -> TracerProvider:
    provider = factory()
    for processor in processors:
        provider.add_span_processor(processor)
    return provider


@contextmanager
def _w3c_baggage(session_id: str) -> Iterator[None]:
    token = context_api.attach(baggage.set_baggage(attr.SESSION_ID, session_id))
    try:
        yield
    finally:
        context_api.detach(token)


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _peers() -> list[Peer]:
    """The peers that are installed; a line for each one that is not."""
    peers: list[Peer] = []
    missing: list[tuple[str, str]] = []
    if _available("opentelemetry.processor.baggage"):
        from opentelemetry.processor.baggage import BaggageSpanProcessor

        keys = frozenset({attr.SESSION_ID})
        peers.append(
            Peer(
                "baggage",
                "BaggageSpanProcessor + baggage",
                lambda: _provider(BaggageSpanProcessor(keys.__contains__)),
                _w3c_baggage,
            )
        )
    else:
        missing.append(("BaggageSpanProcessor", "opentelemetry-processor-baggage"))
    if _available("logfire"):
        import logfire
        from logfire._internal.baggage import DirectBaggageAttributesSpanProcessor

        peers.append(
            Peer(
                "logfire",
                "Logfire set_baggage + baggage processor",
                lambda: _provider(DirectBaggageAttributesSpanProcessor()),
                lambda session_id: logfire.set_baggage(**{attr.SESSION_ID: session_id}),
            )
        )
    else:
        missing.append(("Logfire", "logfire"))
    if _available("langfuse"):
        from langfuse import propagate_attributes
        from langfuse._client.span_processor import LangfuseSpanProcessor

        def langfuse_provider() -> TracerProvider:
            # Port 9 (discard) on loopback: were the exporter ever the default one, it could reach nothing else.
            return _provider(
                LangfuseSpanProcessor(
                    public_key="pk-lf-bench",
                    secret_key="sk-lf-bench",
                    base_url="http://127.0.0.1:9",
                    span_exporter=DropExporter(),
                )
            )

        peers.append(
            Peer(
                "langfuse",
                "Langfuse processor + propagate_attributes",
                langfuse_provider,
                lambda session_id: propagate_attributes(session_id=session_id),
            )
        )
    else:
        missing.append(("Langfuse", "langfuse"))
    if _available("openinference.instrumentation.agent_framework"):
        from openinference.instrumentation import TracerProvider as OpenInferenceTracerProvider
        from openinference.instrumentation import using_session
        from openinference.instrumentation.agent_framework import AgentFrameworkToOpenInferenceProcessor

        peers.append(
            Peer(
                "openinference",
                "OpenInference provider + AF processor + using_session",
                lambda: _provider(AgentFrameworkToOpenInferenceProcessor(), factory=OpenInferenceTracerProvider),
                using_session,
            )
        )
    else:
        missing.append(("OpenInference", "openinference-instrumentation-agent-framework"))
    for name, package in missing:
        print(f"  skipping peer {name}: {package} is not installed (pip install -r benchmarks/requirements.txt)")
    return peers


def _identity_provider() -> TracerProvider:
    """A provider wired the way ``configure()`` and the zero-code instrumentor wire ours."""
    provider = TracerProvider()
    add_identity_processor(provider)
    return provider


def _ours() -> Peer:
    return Peer("ours", "otel-identity processor + session_scope", _identity_provider, session_scope)


def _ours_instrumented() -> Peer:
    return Peer(
        "ours+instr",
        "otel-identity + AgentFrameworkInstrumentor",
        _identity_provider,
        None,
        AgentFrameworkInstrumentor(),
    )


def _limit() -> Peer:
    return Peer("limit", "limit", TracerProvider, None)


class _NoConnect:
    """Records every outgoing socket connect while active (a peer must not reach a host)."""

    def __init__(self) -> None:
        self.addresses: list[object] = []

    def __enter__(self) -> _NoConnect:
        self._original = socket.socket.connect
        addresses = self.addresses
        original = self._original

        def connect(sock: socket.socket, address: Any) -> None:
            addresses.append(address)
            original(sock, address)

        socket.socket.connect = connect  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        socket.socket.connect = self._original  # type: ignore[method-assign]


def _stamped(spans: Sequence[ReadableSpan], session_id: str) -> int:
    return sum(1 for span in spans if (span.attributes or {}).get(attr.SESSION_ID) == session_id)


# --- per span -------------------------------------------------------------------------------


def _check_per_span(peer: Peer) -> tuple[int, int]:
    exporter = InMemorySpanExporter()
    provider = peer.provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("check")
    if peer.scope is None:
        tracer.start_span("operation", attributes=EXPLICIT).end()
    else:
        with peer.scope(SESSION):
            tracer.start_span("operation", attributes=OTHER).end()
    spans = exporter.get_finished_spans()
    wrong = [span for span in spans if any((span.attributes or {}).get(k) != v for k, v in OTHER.items())]
    if wrong:
        raise AssertionError(f"{peer.name} lost the explicit attributes: {wrong}")
    provider.shutdown()
    return _stamped(spans, SESSION), len(spans)


def _per_span_variant(peer: Peer) -> Variant:
    tracer: Tracer = peer.provider().get_tracer("otel-identity-benchmarks")
    scope = peer.scope

    def spans(attributes: dict[str, AttributeValue], n: int) -> Callable[[], None]:
        def work() -> None:
            for _ in range(n):
                tracer.start_span("operation", attributes=attributes).end()

        return work

    def batch(n: int) -> int:
        if scope is None:
            return timed(spans(EXPLICIT, n))
        with scope(SESSION):
            return timed(spans(OTHER, n))

    return Variant(peer.name, batch)


# --- per agent-framework run ----------------------------------------------------------------


async def _runs(n: int, scope: Scope | None) -> None:
    """``n`` runs of one fresh agent, sessions of two turns (the second calls the tool)."""
    agent = make_agent()
    session = agent.create_session()
    for index in range(n):
        if index % len(TURNS) == 0:
            session = agent.create_session()
        if scope is None:
            await agent.run(TURNS[index % len(TURNS)], session=session)
        else:
            with scope(session.session_id):
                await agent.run(TURNS[index % len(TURNS)], session=session)


def _check_per_run(loop: asyncio.AbstractEventLoop, peer: Peer) -> tuple[int, int]:
    """(spans with the run's own ``session.id``, spans) over one session of two runs."""
    switch = global_switch()
    exporter = InMemorySpanExporter()
    provider = peer.provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous, switch.current = switch.current, provider
    if peer.instrumentor is not None:
        peer.instrumentor.instrument(tracer_provider=provider)
    sessions: list[str] = []

    def recording(session_id: str) -> AbstractContextManager[object]:
        sessions.append(session_id)
        assert peer.scope is not None
        return peer.scope(session_id)

    try:
        if peer.scope is None:
            agent = make_agent()
            session = agent.create_session()
            sessions.append(session.session_id)

            async def two() -> None:
                for turn in TURNS:
                    await agent.run(turn, session=session)

            loop.run_until_complete(two())
        else:
            loop.run_until_complete(_runs(len(TURNS), recording))
    finally:
        if peer.instrumentor is not None:
            peer.instrumentor.uninstrument()
        switch.current = previous
    spans = exporter.get_finished_spans()
    if not any(span.name.startswith("execute_tool") for span in spans):
        raise AssertionError(f"{peer.name}: the run made no tool turn: {[span.name for span in spans]}")
    provider.shutdown()
    return _stamped(spans, sessions[0]), len(spans)


def _per_run_variant(loop: asyncio.AbstractEventLoop, peer: Peer) -> Variant:
    switch = global_switch()
    provider = peer.provider()
    instrumentor = peer.instrumentor

    def batch(n: int) -> int:
        async def timed_runs() -> int:
            start = now()
            await _runs(n, peer.scope)
            return now() - start

        return loop.run_until_complete(timed_runs())

    def enter() -> None:
        switch.current = provider
        if instrumentor is not None:
            instrumentor.instrument(tracer_provider=provider)

    def leave() -> None:
        if instrumentor is not None:
            instrumentor.uninstrument()

    return Variant(peer.name, batch, enter=enter, leave=leave)


# --- rows -----------------------------------------------------------------------------------


def _rows(
    workload: str,
    measured: Measured,
    peers: Sequence[Peer],
    counts: dict[str, tuple[int, int]],
    ours: Sequence[Peer],
    target: float,
) -> list[Row]:
    """Peers first (information), then ours against ``target`` and the best peer that stamps."""
    rows: list[Row] = []
    best: float | None = None
    for peer in peers:
        stamped, total = counts[peer.name]
        rows.append(
            Row.ratio(
                f"5. {workload}: {peer.label}",
                measured,
                peer.name,
                "limit",
                limit=None,
                note=f"[{stamped}/{total} spans stamped] ",
            )
        )
        if stamped == total:
            value = statistics.median(measured.ratios(peer.name, "limit"))
            best = value if best is None else min(best, value)
    for index, variant in enumerate(ours):
        stamped, total = counts[variant.name]
        limit = target if best is None or index > 0 else min(target, best)
        rows.append(
            Row.ratio(
                f"5. {workload}: {variant.label}",
                measured,
                variant.name,
                "limit",
                limit=limit,
                target=f"<= {target:.2f}x" if limit == target else f"<= {limit:.2f}x (best peer)",
                note=f"[{stamped}/{total} spans stamped] ",
            )
        )
    return rows


def run(*, quick: bool) -> list[Row]:
    peers = _peers()
    limit, ours, instrumented = _limit(), _ours(), _ours_instrumented()

    with _NoConnect() as connects:
        span_counts = {peer.name: _check_per_span(peer) for peer in [limit, *peers, ours]}
        enable_instrumentation(force=True)
        loop = asyncio.new_event_loop()
        run_counts = {peer.name: _check_per_run(loop, peer) for peer in [limit, *peers, ours, instrumented]}
    if connects.addresses:
        raise AssertionError(f"a variant tried to reach a host: {connects.addresses}")
    for counts in (span_counts, run_counts):
        for name, (stamped, _) in counts.items():
            if name != "limit" and stamped == 0:
                print(f"  {name} stamps no span with the right session.id: its figure is not a result")

    timed_span = [limit, *peers, ours]
    per_span = measure(
        [_per_span_variant(peer) for peer in timed_span],
        ops=100 if quick else 500,
        rounds=3 if quick else 41,
        repeats=1 if quick else 3,
        warmup=1 if quick else 2,
    )
    try:
        timed_run = [limit, *peers, ours, instrumented]
        per_run = measure(
            [_per_run_variant(loop, peer) for peer in timed_run],
            ops=4 if quick else 10,
            rounds=2 if quick else 31,
            repeats=1 if quick else 3,
            warmup=1 if quick else 2,
        )
    finally:
        global_switch().current = TracerProvider()
        loop.close()
    return [
        *_rows("per span", per_span, peers, span_counts, [ours], PER_SPAN_TARGET),
        *_rows("per run", per_run, peers, run_counts, [ours, instrumented], PER_RUN_TARGET),
    ]
