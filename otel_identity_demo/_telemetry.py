"""Tracing set-up shared by the demo's services: one ``configure()`` call, and where spans go.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set, spans go
there over OTLP (``configure()`` reads the standard variables). Without, or when an output
file is given as well, they are appended to that file as OTLP/JSON.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final

from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import otel_identity
from otel_identity.otlp_json import OtlpJsonFileExporter

__all__ = ["A2A_SDK_TRACING", "otlp_endpoint", "setup_tracing"]

A2A_SDK_TRACING: Final = "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED"


def otlp_endpoint() -> str | None:
    """The OTLP endpoint the environment names, if any."""
    for name in (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def setup_tracing(service_name: str, *, output: str | None, trusted_peers: Sequence[str]) -> TracerProvider:
    """Configure this process as ``service_name``; every installed instrumentor on.

    a2a-sdk's own spans (named after its Python methods) are off unless
    ``OTEL_INSTRUMENTATION_A2A_SDK_ENABLED`` says otherwise: they are some fifty internal
    spans per request (event queues, dispatchers) that would bury the story the demo tells;
    the A2A instrumentation's ``SendMessage`` server spans describe each request. Turned on,
    they join the caller's trace and session like every other span.
    """
    os.environ.setdefault(A2A_SDK_TRACING, "false")  # read when a2a-sdk is first imported
    from agent_framework.observability import enable_instrumentation

    file_exporter = OtlpJsonFileExporter(output) if output else None
    if otlp_endpoint() is not None:
        provider = otel_identity.configure(
            service_name=service_name, trusted_peers=list(trusted_peers), instrument=True
        )
        if file_exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(file_exporter))
    else:
        provider = otel_identity.configure(
            service_name=service_name,
            trusted_peers=list(trusted_peers),
            exporter=file_exporter,
            instrument=True,
        )
    enable_instrumentation()  # agent-framework's own invoke_agent / chat / execute_tool spans
    return provider
