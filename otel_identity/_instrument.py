"""Enable every otel-identity instrumentor that is installed, and the core one for zero-code use.

Instrumentors are discovered through the ``opentelemetry_instrumentor`` entry-point group,
the same way ``opentelemetry-instrument`` finds them, and enabled only when the framework
they instrument is installed in a supported version.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from importlib.metadata import entry_points
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.instrumentation.dependencies import get_dist_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import TracerProvider

from otel_identity._logs import add_identity_log_processor
from otel_identity._processor import add_identity_processor

__all__ = ["IdentityInstrumentor", "instrument", "missing_framework"]

logger = logging.getLogger("otel_identity")

_DISTRIBUTION = "otel-identity"


def missing_framework(instrumentor: BaseInstrumentor) -> str | None:
    """Why ``instrumentor``'s framework cannot be instrumented here, or ``None`` when it can.

    ``opentelemetry-instrument`` checks dependencies per *distribution* and then calls
    ``instrument(skip_dep_check=True)``. otel-identity ships several instrumentors in one
    distribution, so each must check its own framework before importing it, or a user
    without agent-framework would get an import error logged at start-up.
    """
    from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

    conflict = get_dependency_conflicts(list(instrumentor.instrumentation_dependencies()))
    return None if conflict is None else str(conflict)


class IdentityInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Adds the identity span and log processors to the providers (for ``opentelemetry-instrument``).

    ``opentelemetry-instrument`` sets the SDK tracer and logger providers up before it loads
    instrumentors (``opentelemetry.sdk._configuration._initialize_components``, which always
    installs a ``LoggerProvider`` and, with ``OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true``,
    the root ``logging`` handler), so this runs with both in place; framework instrumentors
    open the scopes.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        provider = kwargs.get("tracer_provider") or trace.get_tracer_provider()
        if isinstance(provider, TracerProvider):
            add_identity_processor(provider)
        else:
            logger.warning(
                "otel-identity: no SDK tracer provider is installed; call otel_identity.configure() "
                "or run under opentelemetry-instrument"
            )
        logger_provider = kwargs.get("logger_provider") or get_logger_provider()
        if isinstance(logger_provider, LoggerProvider):
            add_identity_log_processor(logger_provider)

    def _uninstrument(self, **kwargs: Any) -> None:
        return None


def instrument(*, tracer_provider: TracerProvider | None = None) -> list[str]:
    """Instrument every installed otel-identity instrumentor whose framework is present.

    Returns the entry-point names that were instrumented. Missing frameworks are skipped
    with a debug log; nothing raises.
    """
    done: list[str] = []
    for entry_point in entry_points(group="opentelemetry_instrumentor"):
        dist = getattr(entry_point, "dist", None)
        if dist is None or dist.name != _DISTRIBUTION:
            continue
        try:
            conflict = get_dist_dependency_conflicts(dist)  # type: ignore[arg-type]
            instrumentor = entry_point.load()()
            deps = instrumentor.instrumentation_dependencies()
            if conflict is None and deps:
                from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

                conflict = get_dependency_conflicts(deps)
            if conflict is not None:
                logger.debug("otel-identity: skipping %s: %s", entry_point.name, conflict)
                continue
            kwargs: dict[str, Any] = {}
            if tracer_provider is not None:
                kwargs["tracer_provider"] = tracer_provider
            instrumentor.instrument(**kwargs)
            done.append(entry_point.name)
        except Exception:
            logger.warning("otel-identity: could not instrument %s", entry_point.name, exc_info=True)
    return done
