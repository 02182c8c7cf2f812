"""Benchmark 1: putting the session's identities on spans.

Three ways to get the same four attributes (``session.id``, ``user.id``,
``gen_ai.conversation.id``, ``otel_identity.run.id``) onto every span:

* ``explicit``: the bare SDK, the app passes the attributes itself when it creates each span.
  Nothing can be cheaper: this is the limit.
* ``ours``: spans created inside ``session_scope`` + ``run_scope`` with
  :class:`otel_identity.IdentitySpanProcessor` on the provider.
* ``baggage``: the same keys in W3C baggage, copied onto spans by
  ``opentelemetry-processor-baggage``'s ``BaggageSpanProcessor`` (the peer that does this part
  of our job).

Each variant has its own SDK provider with no other processor, so the difference is the
stamping alone. Spans are ``start_span(...).end()``: the cheapest span the SDK makes, so the
stamping cost is the largest share it can be. Two shapes:

* per span: the scope (or baggage, or attribute dict) is set up once per batch;
* per run: each run sets up its scope (a fresh run id) and creates 10 spans, as an agent run would.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Final

from _harness import Measured, Row, Variant, measure, timed
from opentelemetry import baggage
from opentelemetry import context as context_api
from opentelemetry.processor.baggage import BaggageSpanProcessor
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from otel_identity import IdentitySpanProcessor, add_identity_processor, run_scope, session_scope
from otel_identity import attributes as attr

__all__ = ["run"]

SPANS_PER_RUN: Final = 10
USER: Final = "user-7"
SESSIONS: Final = tuple(f"session-{index:04d}" for index in range(100))
KEYS: Final = frozenset({attr.SESSION_ID, attr.USER_ID, attr.GEN_AI_CONVERSATION_ID, attr.RUN_ID})


def _tracer(processor: SpanProcessor | None) -> Tracer:
    """A tracer of a fresh provider; ours is wired as ``configure()`` wires it (``add_identity_processor``)."""
    provider = TracerProvider()
    if isinstance(processor, IdentitySpanProcessor):
        add_identity_processor(provider)
    elif processor is not None:
        provider.add_span_processor(processor)
    return provider.get_tracer("otel-identity-benchmarks")


def _explicit_attributes(session_id: str, run_id: str) -> dict[str, AttributeValue]:
    return {
        attr.SESSION_ID: session_id,
        attr.USER_ID: USER,
        attr.GEN_AI_CONVERSATION_ID: session_id,
        attr.RUN_ID: run_id,
    }


def _baggage_context(session_id: str, run_id: str) -> context_api.Context:
    context = baggage.set_baggage(attr.SESSION_ID, session_id)
    context = baggage.set_baggage(attr.USER_ID, USER, context)
    context = baggage.set_baggage(attr.GEN_AI_CONVERSATION_ID, session_id, context)
    return baggage.set_baggage(attr.RUN_ID, run_id, context)


def _per_span_variants() -> list[Variant]:
    explicit, ours, copied = (
        _tracer(None),
        _tracer(IdentitySpanProcessor()),
        _tracer(BaggageSpanProcessor(KEYS.__contains__)),
    )
    run_id = uuid.uuid4().hex

    def spans(tracer: Tracer, n: int, attributes: dict[str, AttributeValue] | None = None) -> Callable[[], None]:
        def work() -> None:
            for _ in range(n):
                tracer.start_span("operation", attributes=attributes).end()

        return work

    def explicit_batch(n: int) -> int:
        return timed(spans(explicit, n, _explicit_attributes(SESSIONS[0], run_id)))

    def ours_batch(n: int) -> int:
        with session_scope(SESSIONS[0], user_id=USER), run_scope(run_id):
            return timed(spans(ours, n))

    def baggage_batch(n: int) -> int:
        token = context_api.attach(_baggage_context(SESSIONS[0], run_id))
        try:
            return timed(spans(copied, n))
        finally:
            context_api.detach(token)

    return [Variant("explicit", explicit_batch), Variant("ours", ours_batch), Variant("baggage", baggage_batch)]


def _per_run_variants() -> list[Variant]:
    explicit, ours, copied = (
        _tracer(None),
        _tracer(IdentitySpanProcessor()),
        _tracer(BaggageSpanProcessor(KEYS.__contains__)),
    )

    def explicit_batch(n: int) -> int:
        def work() -> None:
            for index in range(n):
                attributes = _explicit_attributes(SESSIONS[index % len(SESSIONS)], uuid.uuid4().hex)
                for _ in range(SPANS_PER_RUN):
                    explicit.start_span("operation", attributes=attributes).end()

        return timed(work)

    def ours_batch(n: int) -> int:
        def work() -> None:
            for index in range(n):
                with session_scope(SESSIONS[index % len(SESSIONS)], user_id=USER), run_scope():
                    for _ in range(SPANS_PER_RUN):
                        ours.start_span("operation").end()

        return timed(work)

    def baggage_batch(n: int) -> int:
        def work() -> None:
            for index in range(n):
                token = context_api.attach(_baggage_context(SESSIONS[index % len(SESSIONS)], uuid.uuid4().hex))
                try:
                    for _ in range(SPANS_PER_RUN):
                        copied.start_span("operation").end()
                finally:
                    context_api.detach(token)

        return timed(work)

    return [Variant("explicit", explicit_batch), Variant("ours", ours_batch), Variant("baggage", baggage_batch)]


def _check_equivalent() -> None:
    """All three variants must produce the same attributes, or the comparison means nothing."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    found = []
    for processor in (None, IdentitySpanProcessor(), BaggageSpanProcessor(KEYS.__contains__)):
        provider = TracerProvider()
        if isinstance(processor, IdentitySpanProcessor):
            add_identity_processor(provider)
        elif processor is not None:
            provider.add_span_processor(processor)
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("check")
        if processor is None:
            tracer.start_span("operation", attributes=_explicit_attributes("s", "r")).end()
        elif isinstance(processor, IdentitySpanProcessor):
            with session_scope("s", user_id=USER), run_scope("r"):
                tracer.start_span("operation").end()
        else:
            token = context_api.attach(_baggage_context("s", "r"))
            try:
                tracer.start_span("operation").end()
            finally:
                context_api.detach(token)
        (span,) = exporter.get_finished_spans()
        found.append(dict(span.attributes or {}))
    if not found[0] == found[1] == found[2]:
        raise AssertionError(f"variants stamp different attributes: {found}")


def run(*, quick: bool) -> list[Row]:
    _check_equivalent()
    # Many short batches (a few ms), best of 3 per round: see _harness.
    rounds, repeats = (5, 1) if quick else (41, 3)
    per_span: Measured = measure(_per_span_variants(), ops=200 if quick else 500, rounds=rounds, repeats=repeats)
    per_run: Measured = measure(_per_run_variants(), ops=20 if quick else 50, rounds=rounds, repeats=repeats)
    return [
        Row.ratio("1. stamping, per span: ours / explicit (a)", per_span, "ours", "explicit", limit=1.15),
        Row.ratio("1. stamping, per span: ours / baggage (b)", per_span, "ours", "baggage", limit=1.0, strict=True),
        Row.ratio("1. stamping, run of 10 spans: ours / explicit (a)", per_run, "ours", "explicit", limit=1.15),
        Row.ratio(
            "1. stamping, run of 10 spans: ours / baggage (b)", per_run, "ours", "baggage", limit=1.0, strict=True
        ),
    ]
