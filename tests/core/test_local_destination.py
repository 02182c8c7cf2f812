"""``set_local_destination``: carriers that stay in the process get no identity, whatever encloses them."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.trace import SpanKind

import otel_identity as oi


def _inject(context: object) -> str:
    carrier: dict[str, str] = {}
    oi.IdentityBaggagePropagator().inject(carrier, context=context)  # type: ignore[arg-type]
    return carrier.get("baggage", "")


def test_local_destination_overrides_a_trusted_one_around_it(trust: Callable[..., None]) -> None:
    trust(["tools.internal"])
    with oi.session_scope("s-1"), oi.destination_scope("https://tools.internal/mcp"):
        assert "session.id=s-1" in _inject(None), "the enclosing trusted destination gets it"
        assert "session.id" not in _inject(oi.set_local_destination())


def test_local_destination_overrides_a_client_span(trust: Callable[..., None], tracer: trace.Tracer) -> None:
    trust(["peer.internal"])
    with (
        oi.session_scope("s-1"),
        tracer.start_as_current_span("GET", kind=SpanKind.CLIENT, attributes={"url.full": "http://peer.internal/x"}),
    ):
        assert "session.id=s-1" in _inject(None)
        assert "session.id" not in _inject(oi.set_local_destination())
