"""Run in a subprocess by ``test_a2a_sdk_tracing``: A2A requests with a2a-sdk's own tracing as the environment says.

a2a-sdk reads ``OTEL_INSTRUMENTATION_A2A_SDK_ENABLED`` once, when ``a2a.utils.telemetry`` is
first imported, so each setting needs a fresh interpreter. This script sets up the SDK
provider (identity processor, in-memory exporter, otel-identity's propagator), instruments
A2A *before* the server builds its routes, sends one message per transport and mode from a
caller span in a session scope (the server trusted), stops the server (every server task and
span has ended then) and prints every span as JSON for the test to judge.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import otel_identity as oi
from otel_identity import IdentityBaggagePropagator, add_identity_processor
from otel_identity import attributes as attr
from otel_identity._settings import update_settings
from otel_identity._trust import TrustedPeers

CALLER = "caller"
CASES = (("JSONRPC", False), ("JSONRPC", True), ("HTTP+JSON", False), ("HTTP+JSON", True), ("GRPC", False))


async def _send(server: Any, binding: str, streaming: bool) -> None:
    from a2a.types.a2a_pb2 import SendMessageRequest
    from a2a_servers import make_client, user_message

    client = make_client(server, binding, streaming=streaming)
    try:
        async for _ in client.send_message(SendMessageRequest(message=user_message("hello"))):
            pass
    finally:
        await client.close()


async def _requests(server: Any, tracer: trace.Tracer) -> list[dict[str, Any]]:
    cases = []
    for binding, streaming in CASES:
        session = f"sess-{binding}-{streaming}"
        with oi.session_scope(session), tracer.start_as_current_span(CALLER) as span:
            await _send(server, binding, streaming)
        cases.append(
            {"binding": binding, "streaming": streaming, "session": session, "trace": span.get_span_context().trace_id}
        )
    return cases


def main() -> None:
    import a2a.utils.telemetry

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    add_identity_processor(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    propagate.set_global_textmap(CompositePropagator([TraceContextTextMapPropagator(), IdentityBaggagePropagator()]))
    from a2a_servers import A2AServer, ScriptedExecutor
    from otel_identity_a2a import A2AInstrumentor

    A2AInstrumentor().instrument()
    with A2AServer(ScriptedExecutor()) as server:
        update_settings(trusted_peers=TrustedPeers([f"127.0.0.1:{server.port}", f"127.0.0.1:{server.grpc_port}"]))
        cases = asyncio.run(_requests(server, provider.get_tracer("tests.a2a.caller")))
    spans = [
        {
            "name": span.name,
            "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
            "kind": span.kind.name,
            "trace": span.context.trace_id if span.context else None,
            "id": span.context.span_id if span.context else None,
            "parent": span.parent.span_id if span.parent else None,
            "session": (span.attributes or {}).get(attr.SESSION_ID),
        }
        for span in exporter.get_finished_spans()
    ]
    result = {
        "sdk_tracing": a2a.utils.telemetry.otel_enabled,
        "env": os.environ.get("OTEL_INSTRUMENTATION_A2A_SDK_ENABLED"),
    }
    json.dump({**result, "cases": cases, "spans": spans}, sys.stdout)


if __name__ == "__main__":
    main()
