"""One call that sets up tracing the way an otel-identity user needs it.

``configure()`` honours the standard variables (``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_EXPORTER``, ``OTEL_EXPORTER_OTLP_*``,
``OTEL_PROPAGATORS``) and our ``OTEL_IDENTITY_*``; keyword arguments override them. When
the app (or ``opentelemetry-instrument``) already installed an SDK tracer provider, it adds
to that provider instead of replacing it. Calling it again changes nothing already set up:
one identity processor and one exporter per provider.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Iterable, Sequence
from typing import Literal

from opentelemetry import propagate, trace
from opentelemetry.environment_variables import OTEL_TRACES_EXPORTER
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from otel_identity._log_once import quiet_export_logs
from otel_identity._processor import IdentitySpanProcessor
from otel_identity._propagator import IdentityBaggagePropagator
from otel_identity._settings import AcceptInbound, update_settings
from otel_identity._trust import TrustedPeers

__all__ = ["add_identity_processor", "configure"]

logger = logging.getLogger("otel_identity")

Protocol = Literal["http/protobuf", "grpc"]

_lock = threading.Lock()
_has_processor: weakref.WeakSet[TracerProvider] = weakref.WeakSet()
_has_exporter: weakref.WeakSet[TracerProvider] = weakref.WeakSet()


def add_identity_processor(provider: TracerProvider) -> bool:
    """Add :class:`IdentitySpanProcessor` to ``provider`` unless it has one; ``True`` if added."""
    with _lock:
        if provider in _has_processor:
            return False
        provider.add_span_processor(IdentitySpanProcessor())
        _has_processor.add(provider)
        return True


def _otlp_exporter(protocol: str | None, endpoint: str | None) -> SpanExporter:
    chosen = (
        protocol
        or os.environ.get(OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
        or os.environ.get(OTEL_EXPORTER_OTLP_PROTOCOL)
        or "http/protobuf"
    ).strip()
    if chosen == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
        except ImportError as error:  # pragma: no cover - the otlp extra ships both
            raise ValueError("protocol 'grpc' needs opentelemetry-exporter-otlp-proto-grpc installed") from error
        return GrpcExporter(endpoint=endpoint) if endpoint else GrpcExporter()
    if chosen not in ("http/protobuf", "http/json"):
        raise ValueError(f"OTLP protocol must be 'http/protobuf' or 'grpc', got {chosen!r}")
    if chosen == "http/json":
        logger.warning("otel-identity: OTLP http/json is not supported by the Python exporter; using http/protobuf")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    if endpoint:
        base = endpoint.rstrip("/")
        return HttpExporter(endpoint=base if base.endswith("/v1/traces") else base + "/v1/traces")
    return HttpExporter()


def _exporter_from_environment(protocol: str | None, endpoint: str | None) -> SpanExporter | None:
    names = [name.strip() for name in os.environ.get(OTEL_TRACES_EXPORTER, "otlp").split(",") if name.strip()]
    if endpoint:
        return _otlp_exporter(protocol, endpoint)
    for name in names:
        if name == "none":
            return None
        if name == "console":
            return ConsoleSpanExporter()
        if name == "otlp":
            return _otlp_exporter(protocol, None)
        logger.warning("otel-identity: OTEL_TRACES_EXPORTER=%r is not supported here; using otlp", name)
    return _otlp_exporter(protocol, None)


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


def configure(
    *,
    service_name: str | None = None,
    tracer_provider: TracerProvider | None = None,
    exporter: SpanExporter | None = None,
    endpoint: str | None = None,
    protocol: Protocol | None = None,
    trusted_peers: Sequence[str] | str | None = None,
    baggage_user_id: bool | None = None,
    accept_inbound: AcceptInbound | None = None,
    propagator: bool = True,
    instrument: bool = False,
) -> TracerProvider:
    """Set up tracing with identity stamping; return the tracer provider in use.

    Args:
        service_name: ``service.name`` of a provider this call creates (else ``OTEL_SERVICE_NAME``).
        tracer_provider: provider to add to; default the global one if it is an SDK provider,
            otherwise a new one, made global.
        exporter: span exporter to add (batched). Default for a new provider: from
            ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console`` or ``none``). An existing provider
            gets an exporter only when ``exporter`` or ``endpoint`` is given.
        endpoint: OTLP endpoint (base URL for http/protobuf, ``host:port`` URL for grpc).
        protocol: ``"http/protobuf"`` (default) or ``"grpc"``; else ``OTEL_EXPORTER_OTLP_*PROTOCOL``.
        trusted_peers: destinations that may receive identity baggage (see
            ``OTEL_IDENTITY_TRUSTED_PEERS``); a bad entry raises ``ValueError`` here.
        baggage_user_id: also send ``user.id`` to trusted peers.
        accept_inbound: hook deciding whether a caller's identity claim is accepted.
        propagator: install tracecontext + identity baggage as the global propagator unless
            ``OTEL_PROPAGATORS`` is set.
        instrument: also call :func:`otel_identity.instrument`.
    """
    if service_name is not None and (not isinstance(service_name, str) or not service_name.strip()):
        raise ValueError("service_name must be a non-empty str")
    if protocol is not None and protocol not in ("http/protobuf", "grpc"):
        raise ValueError(f"protocol must be 'http/protobuf' or 'grpc', got {protocol!r}")
    if exporter is not None and not isinstance(exporter, SpanExporter):
        raise ValueError(f"exporter must be a SpanExporter, got {type(exporter).__name__}")
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
            provider = TracerProvider(resource=resource)
            created = True

    add_identity_processor(provider)
    with _lock:
        wants_exporter = provider not in _has_exporter and (created or exporter is not None or endpoint is not None)
        if wants_exporter:
            chosen = exporter if exporter is not None else _exporter_from_environment(protocol, endpoint)
            if chosen is not None:
                provider.add_span_processor(BatchSpanProcessor(chosen))
                quiet_export_logs()
            _has_exporter.add(provider)
    if created:
        trace.set_tracer_provider(provider)
    if propagator:
        _install_propagator()
    if instrument:
        from otel_identity._instrument import instrument as instrument_all

        instrument_all(tracer_provider=provider)
    return provider
