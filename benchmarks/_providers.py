"""Tracer providers for side-by-side runs in one process.

agent-framework and a2a-sdk take their tracers from the *global* provider, which can be set
once per process. :class:`SwitchTracerProvider` is that global provider: it forwards every
span to the SDK provider chosen for the current batch, so the baseline runs on a provider
with no otel-identity component at all and the instrumented variant on one with the
identity processor, alternating round by round in the same process.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["DropExporter", "SwitchTracerProvider", "global_switch"]


class DropExporter(SpanExporter):
    """Accepts every span and keeps none (a collector that is infinitely fast)."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _SwitchTracer(trace.Tracer):
    """A tracer that starts each span on the provider selected at that moment."""

    def __init__(self, switch: SwitchTracerProvider, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._switch = switch
        self._args = args
        self._kwargs = kwargs
        self._cache: dict[int, trace.Tracer] = {}

    def _target(self) -> trace.Tracer:
        provider = self._switch.current
        tracer = self._cache.get(id(provider))
        if tracer is None:
            tracer = self._cache[id(provider)] = provider.get_tracer(*self._args, **self._kwargs)
        return tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._target().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> AbstractContextManager[trace.Span]:  # type: ignore[override]
        return self._target().start_as_current_span(*args, **kwargs)


class SwitchTracerProvider(trace.TracerProvider):
    """Global provider that forwards to ``current`` (an SDK provider), switchable between batches."""

    def __init__(self, current: TracerProvider) -> None:
        self.current = current

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _SwitchTracer(self, args, kwargs)


_SWITCH: SwitchTracerProvider | None = None


def global_switch() -> SwitchTracerProvider:
    """The process's global provider, a :class:`SwitchTracerProvider` (installed on first call)."""
    global _SWITCH
    if _SWITCH is None:
        _SWITCH = SwitchTracerProvider(TracerProvider())
        trace.set_tracer_provider(_SWITCH)
        if trace.get_tracer_provider() is not _SWITCH:
            raise RuntimeError("a global tracer provider was set before the benchmarks could install theirs")
    return _SWITCH
