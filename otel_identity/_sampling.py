"""Sampling by session: every trace of a conversation, in every service, gets the same decision.

Why
---
An agent session is many traces (one per turn, more per service). A per-trace ratio keeps
random turns of most sessions and few sessions whole, which breaks the conversation view.
This sampler hashes ``session.id`` instead of the trace id, so a session is kept or dropped
whole, and two services that see the same session (the callee accepted it from the caller's
baggage) decide alike even where trace context was lost (a queue, a push notification).

Usage
-----
Zero code (``opentelemetry-instrument``, or ``configure()`` reading the environment)::

    OTEL_TRACES_SAMPLER=otel_identity_session OTEL_TRACES_SAMPLER_ARG=0.1

In code::

    import otel_identity

    otel_identity.configure(sampler=otel_identity.session_sampler(0.1))

Decisions
---------
:func:`session_sampler` is the SDK's ``ParentBased`` with :class:`SessionRatioSampler` as
its root: a span with a sampled parent is sampled, one with a parent that is not is not
(local or remote, so a callee follows the caller's ``traceparent``). A root span (no parent,
or only baggage arrived) is decided by the session in scope in its parent context
(:func:`otel_identity.get_identities`: an app scope, an instrumentor's, or what the inbound
propagator accepted), else by a ``session.id`` attribute passed at span start, else by the
SDK's ``TraceIdRatioBased`` at the same ratio.

Inside a dropped session, CLIENT spans are ``RECORD_ONLY`` rather than dropped: never
exported and sent with the not-sampled flag, but recording, so the propagator still sees the
request's URL and trusted peers get the session (see README, "Known limits").
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, get_current_span
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from otel_identity import attributes as attr
from otel_identity._identities import get_identities

__all__ = ["SessionRatioSampler", "session_of", "session_sampler", "session_sampler_from_arg"]

logger = logging.getLogger("otel_identity")

_LIMIT = 1 << 64


def session_of(parent_context: Context | None, attributes: Attributes = None) -> str | None:
    """The session a span started in ``parent_context`` belongs to, or ``None``."""
    identities = get_identities(parent_context)
    if identities is not None and identities.session_id is not None:
        return identities.session_id
    if attributes:
        value = attributes.get(attr.SESSION_ID)
        if isinstance(value, str) and value:
            return value
    return None


@functools.lru_cache(maxsize=4096)
def _bucket(session_id: str) -> int:
    """A stable 64-bit hash of ``session_id``: the same in every process, language-neutral (BLAKE2b-64).

    Cached: a session opens several traces (one per turn, more per service), so the recent
    sessions' hashes are asked for again; 4,096 entries of a few dozen bytes each.
    """
    return int.from_bytes(hashlib.blake2b(session_id.encode("utf-8"), digest_size=8).digest(), "big")


def _check_ratio(ratio: object) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 <= float(ratio) <= 1.0:
        raise ValueError(f"sampling ratio must be a number in [0, 1], got {ratio!r}")
    return float(ratio)


class SessionRatioSampler(Sampler):
    """Samples a fraction ``ratio`` of sessions by a stable hash of ``session.id`` (a root sampler).

    Spans with no session are decided by ``TraceIdRatioBased(ratio)``. Use it through
    :func:`session_sampler` (parent-based) unless every span should be decided on its own.
    """

    def __init__(self, ratio: float) -> None:
        self._ratio = _check_ratio(ratio)
        self._bound = round(self._ratio * _LIMIT)
        self._fallback = TraceIdRatioBased(self._ratio)

    @property
    def ratio(self) -> float:
        return self._ratio

    def sampled(self, session_id: str) -> bool:
        """Whether ``session_id`` is in the sample (the decision every service makes for it)."""
        return _bucket(session_id) < self._bound

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        session_id = session_of(parent_context, attributes)
        if session_id is None:
            return self._fallback.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)
        parent_state = get_current_span(parent_context).get_span_context().trace_state
        if _bucket(session_id) < self._bound:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent_state)
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.RECORD_ONLY, attributes, parent_state)
        return SamplingResult(Decision.DROP, None, parent_state)

    def get_description(self) -> str:
        return f"SessionRatioSampler{{{self._ratio}}}"


class _ClientSpansInDroppedSession(Sampler):
    """For spans under a parent that is not sampled: ``RECORD_ONLY`` for CLIENT spans of a session, else drop.

    A recording span keeps its URL, so the propagator knows where the request goes; the
    not-sampled flag still keeps it (and the callee's side) out of the export.
    """

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent_state = get_current_span(parent_context).get_span_context().trace_state
        if kind is SpanKind.CLIENT and session_of(parent_context, attributes) is not None:
            return SamplingResult(Decision.RECORD_ONLY, attributes, parent_state)
        return SamplingResult(Decision.DROP, None, parent_state)

    def get_description(self) -> str:
        return "ClientSpansInDroppedSession"


def session_sampler(ratio: float) -> Sampler:
    """Parent-based session sampling at ``ratio`` (0 to 1); a bad ratio raises ``ValueError``."""
    return ParentBased(
        root=SessionRatioSampler(ratio),
        local_parent_not_sampled=_ClientSpansInDroppedSession(),
    )


def session_sampler_from_arg(arg: str | float | None) -> Sampler:
    """Entry point ``otel_identity_session`` (``OTEL_TRACES_SAMPLER_ARG`` is the ratio, default 1.0).

    The SDK calls sampler entry points with the raw argument string; a bad value logs a
    warning and samples everything, as the SDK does for its own ratio samplers.
    """
    if arg is None or (isinstance(arg, str) and not arg.strip()):
        return session_sampler(1.0)
    try:
        ratio = float(arg)
        return session_sampler(ratio)
    except (TypeError, ValueError):
        logger.warning(
            "otel-identity: OTEL_TRACES_SAMPLER_ARG=%r is not a ratio in [0, 1]; sampling every session", arg
        )
        return session_sampler(1.0)
