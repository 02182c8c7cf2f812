"""The span processor that stamps in-scope identities onto every span at its start.

It reads the scope from the span's parent context, so it works for spans from any
instrumentation (httpx, openai, a2a-sdk, agent-framework) without their cooperation.
Attributes an instrumentation set when it created the span win over the scope: the
creator knows its operation (an A2A client span's conversation is the remote
``context_id``, not the caller's). Single-result ids and continuation tokens are never
in scope, so they cannot be stamped onto other spans.
"""

from __future__ import annotations

import threading
import weakref

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Sampler

from otel_identity._identities import get_identities
from otel_identity._safety import report_swallowed
from otel_identity._stamping_sampler import IdentityStampingSampler, take_stamped

__all__ = ["IdentitySpanProcessor", "add_identity_processor"]


class IdentitySpanProcessor(SpanProcessor):
    """Stamp ``session.id``, ``gen_ai.conversation.id``, run and task ids onto spans in scope.

    Add it before exporting processors; it never blocks, never throws and does nothing at
    span end (attributes are immutable then).
    """

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        # Inline try instead of ``guard``: this runs for every span of the process. The SDK does not
        # catch processor exceptions, so everything here, the context lookup included, is inside it.
        try:
            identities = take_stamped()
            if identities is None:
                identities = get_identities(parent_context)
                if identities is None or not span.is_recording():
                    return
                # Semconv chat spans are named "chat {model}"; agent-framework sets its attributes only after start.
                stamped = identities.stamp_for(span.name, span.attributes)
                if stamped:
                    span.set_attributes(stamped)
            task = identities.task
            if task is not None and task._unrecorded:
                task.record_unrecorded(span)
        except Exception:
            report_swallowed("IdentitySpanProcessor.on_start")

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


_lock = threading.Lock()
_has_processor: weakref.WeakSet[TracerProvider] = weakref.WeakSet()


def add_identity_processor(provider: TracerProvider) -> bool:
    """Add :class:`IdentitySpanProcessor` to ``provider`` unless it has one; ``True`` if added.

    Used by ``configure()`` and by the zero-code instrumentor alike, so a provider never gets two.
    It also wraps the provider's sampler in :class:`IdentityStampingSampler` (same decisions), so
    tracers created from now on stamp at span creation, the cheap way; the processor covers
    spans of tracers created before.
    """
    with _lock:
        if provider in _has_processor:
            return False
        sampler = getattr(provider, "sampler", None)
        if isinstance(sampler, Sampler) and not isinstance(sampler, IdentityStampingSampler):
            provider.sampler = IdentityStampingSampler(sampler)
        provider.add_span_processor(IdentitySpanProcessor())
        _has_processor.add(provider)
        return True
