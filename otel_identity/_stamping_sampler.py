"""A sampler wrapper that hands the in-scope identities to the SDK at span creation (the fast path).

Why
---
Attributes a sampler returns go into the span with the ones its creator passed, in the one
validation pass the SDK makes at creation anyway. Attributes a processor sets in ``on_start``
take a second pass (``Span.set_attributes``: two locks and a re-validation per call), which
was ~60 % of what stamping a span cost. So :func:`~otel_identity.add_identity_processor`
(used by ``configure()`` and the zero-code instrumentor) wraps the provider's sampler in this
one, and :class:`~otel_identity.IdentitySpanProcessor` then finds every key present and sets
nothing. Spans of tracers created before the wrapping (they keep the sampler they were given)
are still stamped, by the processor.

The processor must not look for our keys among the span's attributes to learn that the
sampler stamped it (``key in span.attributes`` costs ~0.5 µs per key in the SDK's
``BoundedAttributes``): the sampler hands the identities it stamped over in a thread-local
slot, and the processor's ``on_start`` for that span, which the SDK calls next in the same
thread with nothing in between, takes them back (:func:`take_stamped`).

The decision is the wrapped sampler's, unchanged: this wrapper only adds attributes to spans
that will record, with the same rule as the processor (:meth:`Identities.stamp_for`: keys
the span's creator passed win).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from otel_identity._identities import Identities, get_identities
from otel_identity._safety import report_swallowed

__all__ = ["IdentityStampingSampler", "take_stamped"]


class _Handoff(threading.local):
    identities: Identities | None = None


_handoff = _Handoff()
_DROP = Decision.DROP


def take_stamped() -> Identities | None:
    """The identities the sampler just stamped on the span being started in this thread, once."""
    identities = _handoff.identities
    if identities is not None:
        _handoff.identities = None
    return identities


class IdentityStampingSampler(Sampler):
    """``inner``'s decisions, with the in-scope identities added to the attributes of recorded spans."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Sampler) -> None:
        self._inner = inner

    @property
    def inner(self) -> Sampler:
        """The sampler that decides."""
        return self._inner

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
        result = self._inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)
        # Inline try instead of ``guard``: this runs for every span of the process, and the SDK
        # does not catch sampler exceptions.
        try:
            if result.decision is _DROP:
                return result
            identities = get_identities(parent_context)
            if identities is None:
                return result
            given = result.attributes
            stamped = identities.span_base(name, given)
            # Recording: the SDK creates the span next and calls the processor, which takes this back.
            _handoff.identities = identities
            if not stamped:
                return result
            # The creator's attributes last: its keys win, as in the processor (Identities.stamp_for).
            return SamplingResult(result.decision, {**stamped, **given} if given else stamped, result.trace_state)
        except Exception:
            report_swallowed("IdentityStampingSampler.should_sample")
            return result

    def get_description(self) -> str:
        return f"IdentityStamping{{{self._inner.get_description()}}}"
