"""One call that sets up tracing (and, when asked, logs) the way an otel-identity user needs it.

``configure()`` honours the standard variables (``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_EXPORTER``, ``OTEL_LOGS_EXPORTER``,
``OTEL_EXPORTER_OTLP_*``, ``OTEL_TRACES_SAMPLER(_ARG)``, ``OTEL_PROPAGATORS``) and our
``OTEL_IDENTITY_*``; keyword arguments override them. When the app (or
``opentelemetry-instrument``) already installed an SDK tracer or logger provider, it adds to
that provider instead of replacing it. Calling it again changes nothing already set up: one
identity processor and one set of exporters per provider.

Bad configuration: a bad keyword argument raises ``ValueError`` here; a bad environment
value logs a warning and falls back to the default (see :mod:`otel_identity._exporters`).
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
import weakref
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points
from typing import Literal

from opentelemetry import propagate, trace
from opentelemetry._logs import get_logger_provider, set_logger_provider
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.environment_variables import OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from otel_identity._exporters import PROTOCOLS, exporter_requested, log_exporters, span_exporters
from otel_identity._log_once import quiet_export_logs
from otel_identity._logs import add_identity_log_processor
from otel_identity._processor import add_identity_processor
from otel_identity._propagator import IdentityBaggagePropagator
from otel_identity._settings import AcceptInbound, update_settings
from otel_identity._trust import TrustedPeers

__all__ = ["add_identity_processor", "configure"]

logger = logging.getLogger("otel_identity")

Protocol = Literal["http/protobuf", "grpc"]

_SAMPLER_GROUP = "opentelemetry_traces_sampler"
_SDK_SAMPLERS = frozenset(
    {"always_on", "always_off", "parentbased_always_on", "parentbased_always_off", "traceidratio",
     "parentbased_traceidratio"}
)  # fmt: skip

_lock = threading.Lock()
_has_exporter: weakref.WeakSet[TracerProvider] = weakref.WeakSet()
_has_log_exporter: weakref.WeakSet[LoggerProvider] = weakref.WeakSet()


def _install_propagator() -> None:
    if os.environ.get("OTEL_PROPAGATORS"):
        if "otel_identity" not in os.environ["OTEL_PROPAGATORS"]:
            logger.info(
                "otel-identity: OTEL_PROPAGATORS is set without 'otel_identity'; "
                "session identity will not cross services"
            )
        return
    propagate.set_global_textmap(CompositePropagator([TraceContextTextMapPropagator(), IdentityBaggagePropagator()]))


def _trusted(entries: Sequence[str] | str | None) -> TrustedPeers | None:
    if entries is None:
        return None
    if isinstance(entries, str) or not isinstance(entries, Iterable):
        return TrustedPeers(entries)  # raises a ValueError naming a non-list value
    return TrustedPeers(list(entries))


def _sampler_from_environment() -> Sampler | None:
    """A sampler ``OTEL_TRACES_SAMPLER`` names through an entry point the SDK's own lookup does not know.

    ``TracerProvider()`` resolves only the SDK's built-in names; ``opentelemetry-instrument``
    resolves entry points (calling them with ``OTEL_TRACES_SAMPLER_ARG``), and so does this,
    so ``OTEL_TRACES_SAMPLER=otel_identity_session`` works both ways. Unknown: warning, SDK default.
    """
    name = os.environ.get(OTEL_TRACES_SAMPLER, "").strip()
    if not name or name.lower() in _SDK_SAMPLERS:
        return None
    found = list(entry_points(group=_SAMPLER_GROUP, name=name))
    if not found:
        logger.warning("otel-identity: OTEL_TRACES_SAMPLER=%r names no installed sampler; using the SDK default", name)
        return None
    try:
        sampler = found[0].load()(os.environ.get(OTEL_TRACES_SAMPLER_ARG))
    except Exception:
        logger.warning("otel-identity: sampler %r failed to load; using the SDK default", name, exc_info=True)
        return None
    if not isinstance(sampler, Sampler):
        logger.warning("otel-identity: OTEL_TRACES_SAMPLER=%r did not produce a Sampler; using the SDK default", name)
        return None
    return sampler


def _root_logging_handler(provider: LoggerProvider) -> None:
    """Send Python ``logging`` (root logger) to ``provider``, unless a handler for it is already there."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, LoggingHandler) and handler._logger_provider is provider:
            return
    with warnings.catch_warnings():
        # The SDK's handler is deprecated in favour of opentelemetry-instrumentation-logging's;
        # it is what opentelemetry-instrument itself still installs in 1.45.
        warnings.simplefilter("ignore", DeprecationWarning)
        root.addHandler(LoggingHandler(logger_provider=provider))


def _setup_logs(
    *,
    resource: Resource,
    logger_provider: LoggerProvider | None,
    log_exporter: LogRecordExporter | None,
    endpoint: str | None,
    protocol: str | None,
    asked: bool,
) -> LoggerProvider | None:
    """Add the identity log processor; when ``asked``, also the pipeline (provider, exporters, handler)."""
    provider = logger_provider
    if provider is None:
        current = get_logger_provider()
        provider = current if isinstance(current, LoggerProvider) else None
    if provider is None and not asked:
        return None
    created = provider is None
    if provider is None:
        provider = LoggerProvider(resource=resource)
    add_identity_log_processor(provider)
    if asked:
        with _lock:
            wants = provider not in _has_log_exporter and (created or log_exporter is not None or endpoint is not None)
            if wants:
                chosen = [log_exporter] if log_exporter is not None else log_exporters(protocol, endpoint)
                for exporter in chosen:
                    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
                _has_log_exporter.add(provider)
        _root_logging_handler(provider)
    if created:
        set_logger_provider(provider)
    return provider


def _check_keywords(
    service_name: object,
    protocol: object,
    exporter: object,
    endpoint: object,
    logs: object,
    log_exporter: object,
    logger_provider: object,
    sampler: object,
) -> None:
    """Every keyword mistake raises here, before anything is set up."""
    if service_name is not None and (not isinstance(service_name, str) or not service_name.strip()):
        raise ValueError("service_name must be a non-empty str")
    if protocol is not None and protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be 'http/protobuf' or 'grpc', got {protocol!r}")
    if exporter is not None and not isinstance(exporter, SpanExporter):
        raise ValueError(f"exporter must be a SpanExporter, got {type(exporter).__name__}")
    if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.strip()):
        raise ValueError(f"endpoint must be a non-empty str, got {endpoint!r}")
    if logs is not None and not isinstance(logs, bool):
        raise ValueError(f"logs must be True, False or None, got {logs!r}")
    if log_exporter is not None and not isinstance(log_exporter, LogRecordExporter):
        raise ValueError(f"log_exporter must be a LogRecordExporter, got {type(log_exporter).__name__}")
    if logger_provider is not None and not isinstance(logger_provider, LoggerProvider):
        raise ValueError(f"logger_provider must be an SDK LoggerProvider, got {type(logger_provider).__name__}")
    if sampler is not None and not isinstance(sampler, Sampler):
        raise ValueError(f"sampler must be an opentelemetry.sdk.trace.sampling.Sampler, got {type(sampler).__name__}")


def configure(
    *,
    service_name: str | None = None,
    tracer_provider: TracerProvider | None = None,
    exporter: SpanExporter | None = None,
    endpoint: str | None = None,
    protocol: Protocol | None = None,
    sampler: Sampler | None = None,
    logs: bool | None = None,
    logger_provider: LoggerProvider | None = None,
    log_exporter: LogRecordExporter | None = None,
    trusted_peers: Sequence[str] | str | None = None,
    baggage_user_id: bool | None = None,
    accept_inbound: AcceptInbound | None = None,
    propagator: bool = True,
    instrument: bool = False,
) -> TracerProvider:
    """Set up tracing with identity stamping (and logs, when asked); return the tracer provider in use.

    Args:
        service_name: ``service.name`` of a provider this call creates (else ``OTEL_SERVICE_NAME``).
        tracer_provider: provider to add to; default the global one if it is an SDK provider,
            otherwise a new one, made global.
        exporter: span exporter to add (batched). Default for a new provider: from
            ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console`` or ``none``). An existing provider
            gets an exporter only when ``exporter`` or ``endpoint`` is given.
        endpoint: OTLP endpoint for traces and logs (base URL for http/protobuf, ``host:port``
            URL for grpc).
        protocol: ``"http/protobuf"`` (default) or ``"grpc"``; else ``OTEL_EXPORTER_OTLP_*PROTOCOL``.
        sampler: sampler of a provider this call creates, e.g.
            ``otel_identity.session_sampler(0.1)``; else ``OTEL_TRACES_SAMPLER``. An existing
            provider keeps its own sampler, so passing one with it raises ``ValueError``.
        logs: ``True`` sets up the logs pipeline (a logger provider if none is installed,
            exporters from ``OTEL_LOGS_EXPORTER``, Python ``logging`` on the root logger);
            ``None`` (default) does so when ``OTEL_LOGS_EXPORTER``, ``log_exporter`` or
            ``logger_provider`` asks for it; ``False`` leaves logs alone. An installed SDK logger
            provider gets the identity log processor unless ``logs=False``.
        logger_provider: logger provider to add to (default: the global one, if it is an SDK one).
        log_exporter: log record exporter to add (batched); it asks for logs.
        trusted_peers: destinations that may receive identity baggage (see
            ``OTEL_IDENTITY_TRUSTED_PEERS``); a bad entry raises ``ValueError`` here.
        baggage_user_id: also send ``user.id`` to trusted peers.
        accept_inbound: hook deciding whether a caller's identity claim is accepted.
        propagator: install tracecontext + identity baggage as the global propagator unless
            ``OTEL_PROPAGATORS`` is set.
        instrument: also call :func:`otel_identity.instrumentation.instrument`.
    """
    _check_keywords(service_name, protocol, exporter, endpoint, logs, log_exporter, logger_provider, sampler)
    if sampler is not None:
        current = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            raise ValueError(
                "sampler applies to a tracer provider configure() creates; this one exists already: "
                "pass the sampler to TracerProvider(sampler=...) or set OTEL_TRACES_SAMPLER"
            )
    update_settings(
        trusted_peers=_trusted(trusted_peers),
        baggage_user_id=baggage_user_id,
        accept_inbound=accept_inbound,
    )

    provider = tracer_provider
    created = False
    if provider is None:
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            provider = current
        else:
            resource = Resource.create({SERVICE_NAME: service_name} if service_name else {})
            chosen_sampler = sampler if sampler is not None else _sampler_from_environment()
            provider = TracerProvider(resource=resource, sampler=chosen_sampler)
            created = True

    add_identity_processor(provider)
    with _lock:
        wants_exporter = provider not in _has_exporter and (created or exporter is not None or endpoint is not None)
        if wants_exporter:
            chosen = [exporter] if exporter is not None else span_exporters(protocol, endpoint)
            for span_exporter in chosen:
                provider.add_span_processor(BatchSpanProcessor(span_exporter))
            if chosen:
                quiet_export_logs()
            _has_exporter.add(provider)
    if created:
        trace.set_tracer_provider(provider)
    if logs is not False:
        asked = bool(logs) or log_exporter is not None or logger_provider is not None or exporter_requested("logs")
        _setup_logs(
            resource=provider.resource,
            logger_provider=logger_provider,
            log_exporter=log_exporter,
            endpoint=endpoint,
            protocol=protocol,
            asked=asked,
        )
    if propagator:
        _install_propagator()
    if instrument:
        # Imported here, not at the top: ``import otel_identity`` stays free of opentelemetry.instrumentation,
        # whose import loads propagators by entry point, ours included (which imports this package).
        from otel_identity._instrument import instrument as instrument_all

        instrument_all(tracer_provider=provider)
    return provider
