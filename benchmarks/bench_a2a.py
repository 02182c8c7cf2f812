"""Benchmark 3: an A2A round trip over 127.0.0.1, with and without otel-identity.

A real a2a-sdk client (JSON-RPC over httpx, keep-alive) sends a message to a real a2a-sdk
server (uvicorn, another thread and event loop in this process); the server creates a task,
adds an artifact and completes it; the client reads the final task. a2a-sdk's own tracing
is on in both variants.

* ``a2a``: the app as it is, on an SDK provider with no otel-identity component.
* ``a2a+ours``: ``A2AInstrumentor`` (client and server spans, trace context and the trusted
  peer's ``session.id`` in the request), the identity processor and propagator, and the app
  wrapping each call in ``session_scope``: what a user adds.

Both run in the same process through the switchable global provider (a2a-sdk takes its
tracer from the global one), batch by batch.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import httpx
from _harness import Row, Variant, measure, now
from _providers import global_switch
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import SendMessageRequest
from opentelemetry import propagate
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from otel_identity_a2a import A2AInstrumentor

import otel_identity
from otel_identity import attributes as attr
from otel_identity_testing.a2a import EchoA2AServer, EchoExecutor, user_message

__all__ = ["run"]

SESSIONS: Final = tuple(f"session-{index:03d}" for index in range(50))


async def _round_trip(client: Client, text: str) -> None:
    events = [event async for event in client.send_message(SendMessageRequest(message=user_message(text)))]
    if not events:
        raise AssertionError("no response")


async def _calls(client: Client, n: int, *, scoped: bool) -> None:
    for index in range(n):
        if scoped:
            with otel_identity.session_scope(SESSIONS[index % len(SESSIONS)]):
                await _round_trip(client, "hello")
        else:
            await _round_trip(client, "hello")


def _client(card: Any, http: httpx.AsyncClient) -> Client:
    return ClientFactory(
        ClientConfig(streaming=False, httpx_client=http, supported_protocol_bindings=["JSONRPC"])
    ).create(card)


def _check(loop: asyncio.AbstractEventLoop, server: EchoA2AServer, http: httpx.AsyncClient) -> None:
    """The instrumented variant really sends the session across: the server span carries it."""
    switch = global_switch()
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    otel_identity.configure(tracer_provider=provider, trusted_peers=[f"127.0.0.1:{server.port}"])
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous, switch.current = switch.current, provider
    instrumentor = A2AInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        loop.run_until_complete(_calls(_client(server.card, http), 1, scoped=True))
    finally:
        instrumentor.uninstrument()
        switch.current = previous
    servers = [
        span
        for span in exporter.get_finished_spans()
        if span.kind is SpanKind.SERVER and (span.attributes or {}).get(attr.A2A_METHOD_NAME) == "SendMessage"
    ]
    if len(servers) != 1 or (servers[0].attributes or {}).get(attr.SESSION_ID) != SESSIONS[0]:
        raise AssertionError(f"the instrumented round trip did not carry the session: {servers}")


def run(*, quick: bool) -> list[Row]:
    switch = global_switch()
    baseline, ours = TracerProvider(), TracerProvider()
    loop = asyncio.new_event_loop()
    instrumentor = A2AInstrumentor()
    try:
        with EchoA2AServer(EchoExecutor(record=False)) as server:
            http = httpx.AsyncClient()
            otel_identity.configure(tracer_provider=ours, trusted_peers=[f"127.0.0.1:{server.port}"])
            # Whatever OTEL_PROPAGATORS says: the instrumented variant is the documented set-up.
            propagate.set_global_textmap(
                CompositePropagator([TraceContextTextMapPropagator(), otel_identity.IdentityBaggagePropagator()])
            )
            _check(loop, server, http)

            def batch(scoped: bool) -> Any:
                def timed_batch(n: int) -> int:
                    client = _client(server.card, http)

                    async def timed_calls() -> int:
                        start = now()
                        await _calls(client, n, scoped=scoped)
                        return now() - start

                    return loop.run_until_complete(timed_calls())

                return timed_batch

            def instrumented() -> None:
                switch.current = ours
                instrumentor.instrument(tracer_provider=ours)

            def uninstrumented() -> None:
                instrumentor.uninstrument()
                switch.current = baseline

            def use_baseline() -> None:
                switch.current = baseline

            variants = [
                Variant("a2a", batch(False), enter=use_baseline),
                Variant("a2a+ours", batch(True), enter=instrumented, leave=uninstrumented),
            ]
            measured = measure(variants, ops=5 if quick else 10, rounds=3 if quick else 31, repeats=1 if quick else 3)
            loop.run_until_complete(http.aclose())
    finally:
        loop.close()
    return [Row.ratio("3. A2A round trip (127.0.0.1)", measured, "a2a+ours", "a2a", limit=1.03, unit="ms")]
