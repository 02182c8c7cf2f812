"""Zero code: ``opentelemetry-instrument`` with ``OTEL_PROPAGATORS=tracecontext,otel_identity`` and env trust.

Each case is a fresh interpreter started by ``opentelemetry-instrument``, which loads our
propagator through its ``opentelemetry_propagator`` entry point and auto-instruments httpx and
requests. The app makes real requests to two raw HTTP servers of this test process: a
trusted one on 127.0.0.1 and another on 127.0.0.2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from cross_peers import RawPeer, baggage_members

from otel_identity import attributes as attr

_APP = textwrap.dedent(
    """
    import json, sys
    import httpx, requests
    from opentelemetry import baggage, context, propagate, trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    import otel_identity as oi

    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    trusted, other, run = sys.argv[1], sys.argv[2], sys.argv[3]
    context.attach(baggage.set_baggage("tenant", "acme"))
    with oi.session_scope("sess-env"):
        for name, url in (("trusted", trusted), ("other", other)):
            httpx.get(url, headers={"x-test": f"{run}-httpx-{name}"})
            requests.get(url, headers={"x-test": f"{run}-requests-{name}"}, timeout=10)
    textmap = propagate.get_global_textmap()
    url_keys = sorted({key for span in exporter.get_finished_spans() if span.kind.name == "CLIENT"
                       for key in span.attributes if key in ("url.full", "http.url", "server.address")})
    print(json.dumps({"propagators": [type(p).__name__ for p in textmap._propagators], "url_keys": url_keys}))
    """
)


@pytest.fixture(scope="module")
def trusted_peer() -> Iterator[RawPeer]:
    with RawPeer("127.0.0.1") as running:
        yield running


@pytest.fixture(scope="module")
def other_peer() -> Iterator[RawPeer]:
    with RawPeer("127.0.0.2") as running:
        yield running


def run_instrumented(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    assert instrument.exists(), "opentelemetry-distro provides opentelemetry-instrument (test extra)"
    full_env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    full_env.update(
        {
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_SERVICE_NAME": "cross-service-env",
            **env,
        }
    )
    return subprocess.run(
        [str(instrument), sys.executable, "-c", _APP, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("semconv", "url_keys"),
    [
        ("", ["http.url"]),
        ("http", ["server.address", "url.full"]),
        ("http/dup", ["http.url", "server.address", "url.full"]),
    ],
    ids=["old-semconv", "stable-semconv", "dup-semconv"],
)
def test_env_selects_the_propagator_and_trusts_only_the_configured_peer(
    semconv: str, url_keys: list[str], trusted_peer: RawPeer, other_peer: RawPeer
) -> None:
    """The client spans name their peer with the attributes of each semantic-convention mode, and that suffices."""
    run = semconv or "old"
    completed = run_instrumented(
        [trusted_peer.base_url, other_peer.base_url, run],
        {
            "OTEL_PROPAGATORS": "tracecontext,otel_identity",
            "OTEL_IDENTITY_TRUSTED_PEERS": f"127.0.0.1:{trusted_peer.port}",
            "OTEL_SEMCONV_STABILITY_OPT_IN": semconv,
        },
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["propagators"] == ["TraceContextTextMapPropagator", "IdentityBaggagePropagator"]
    assert result["url_keys"] == url_keys
    for client in ("httpx", "requests"):
        trusted = baggage_members(trusted_peer.headers(f"{run}-{client}-trusted"))
        assert trusted == {attr.SESSION_ID: "sess-env", "tenant": "acme"}, client
        assert baggage_members(other_peer.headers(f"{run}-{client}-other")) == {"tenant": "acme"}, client
        assert trusted_peer.headers(f"{run}-{client}-trusted", "traceparent")
        assert other_peer.headers(f"{run}-{client}-other", "traceparent")


def test_a_bad_env_trust_list_is_reported_and_trusts_nobody(trusted_peer: RawPeer, other_peer: RawPeer) -> None:
    completed = run_instrumented(
        [trusted_peer.base_url, other_peer.base_url, "bad-env"],
        {
            "OTEL_PROPAGATORS": "tracecontext,otel_identity",
            "OTEL_IDENTITY_TRUSTED_PEERS": f"127.0.0.1:{trusted_peer.port},127.0.0.1:99999",
        },
    )
    assert completed.returncode == 0, completed.stderr  # the app runs
    assert "OTEL_IDENTITY_TRUSTED_PEERS is invalid" in completed.stderr
    assert "'127.0.0.1:99999' has an invalid port '99999'" in completed.stderr
    # Once per process (opentelemetry-instrument's launcher loads the propagators too), not per request.
    assert completed.stderr.count("OTEL_IDENTITY_TRUSTED_PEERS is invalid") == 2
    for client in ("httpx", "requests"):  # fail closed: no identity anywhere, the rest as usual
        assert baggage_members(trusted_peer.headers(f"bad-env-{client}-trusted")) == {"tenant": "acme"}
