"""Trusted-peer configuration: clear errors for bad entries, exact matching, and how the destination is found."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from opentelemetry import baggage, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

import otel_identity as oi
from otel_identity import attributes as attr
from otel_identity import environment_variables as env
from otel_identity._settings import get_settings, reset_settings
from otel_identity._trust import Destination, TrustedPeers, destination_of

HINT = "expected a host, host:port, *.domain or http(s) URL prefix"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("", "is empty"),
        ("http://", "is not an http(s) URL with a host"),
        ("ftp://files.internal/", "is not an http(s) URL with a host"),
        ("https://user:secret@agents.internal/", "must not contain credentials"),
        ("https://agents.internal/a2a?x=1", "must not contain a query or fragment"),
        ("https://agents.internal:99999/", "is not a valid URL"),
        ("host:", "has an invalid port ''"),
        ("host:0", "has an invalid port '0'"),
        ("host:65536", "has an invalid port '65536'"),
        ("host:80x", "has an invalid port '80x'"),
        ("host:99999", "invalid port"),
        ("*", "has an invalid host '*'"),
        ("*.", "has no host"),
        ("a.*.internal", "has an invalid host"),
        ("-bad-.internal", "has an invalid host"),
        ("a..b", "has an invalid host"),
        ("agents.internal/a2a", "is not a host (a path"),
        ("user@agents.internal", "is not a host"),
        ("agents internal", "is not a host"),
        ("::1", "without [brackets]"),
        ("[::1", "malformed [IPv6]"),
        ("[zz::1]:80", "invalid IPv6 address"),
        ("*.10.0.0.1", "wildcard over an IP address"),
        ("ågents.internal", "has an invalid host"),
    ],
)
def test_a_bad_entry_raises_a_value_error_that_names_it(entry: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        TrustedPeers([entry])
    assert message in str(raised.value)
    assert repr(entry) in str(raised.value)
    assert HINT in str(raised.value)


def test_non_string_entries_raise_value_error() -> None:
    with pytest.raises(ValueError, match="trusted peer entries must be str, got int"):
        TrustedPeers([9001])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="must be a str or an iterable of str"):
        TrustedPeers(9001)  # type: ignore[arg-type]


def test_configure_raises_for_a_bad_entry_before_changing_anything(trust: Any) -> None:
    before = get_settings()
    with pytest.raises(ValueError, match=re.escape("trusted peer 'agents.internal:http'")):
        oi.configure(trusted_peers=["ok.internal", "agents.internal:http"], propagator=False)
    assert get_settings() is before


def test_a_bad_env_value_is_reported_once_trusts_nobody_and_configure_names_the_variable(
    trust: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(env.OTEL_IDENTITY_TRUSTED_PEERS, "agents.internal, 10.0.0.1:70000")
    reset_settings()
    with caplog.at_level(logging.ERROR, logger="otel_identity"):
        settings = get_settings()
        assert get_settings() is settings
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "OTEL_IDENTITY_TRUSTED_PEERS is invalid" in errors[0] and "'10.0.0.1:70000'" in errors[0]
    assert not settings.trusted_peers  # fail closed: not even the valid entry
    assert not settings.trusted_peers.trusts(Destination("agents.internal", 443))

    with pytest.raises(
        ValueError, match=re.escape("OTEL_IDENTITY_TRUSTED_PEERS is invalid: trusted peer '10.0.0.1:70000'")
    ):
        oi.configure(propagator=False)
    # A keyword argument overrides the variable, so configure() succeeds.
    oi.configure(trusted_peers="agents.internal", propagator=False)
    assert get_settings().trusted_peers.trusts(Destination("agents.internal", 443))


def test_a_bad_inbound_value_warns_and_ignores_claims(
    trust: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(env.OTEL_IDENTITY_INBOUND, "reject")
    reset_settings()
    with caplog.at_level(logging.WARNING, logger="otel_identity"):
        context = oi.IdentityBaggagePropagator().extract({"baggage": "session.id=s-1"})
    assert "OTEL_IDENTITY_INBOUND='reject'" in caplog.text
    assert oi.get_identities(context) is None and baggage.get_all(context) == {}


def test_env_string_form_ignores_empty_items_and_keeps_entries() -> None:
    peers = TrustedPeers(" agents.internal , ,127.0.0.1:9001,")
    assert peers.entries == ("agents.internal", "127.0.0.1:9001")
    assert peers == TrustedPeers(["agents.internal", "127.0.0.1:9001"])
    assert not TrustedPeers("") and not TrustedPeers(" , ")


@pytest.mark.parametrize(
    ("entry", "url", "trusted"),
    [
        ("agents.internal", "https://agents.internal/a2a", True),
        ("agents.internal", "http://Agents.Internal.:8080/", True),
        ("agents.internal", "https://evil-agents.internal/", False),
        ("agents.internal", "https://agents.internal.evil.com/", False),
        ("agents.internal:9001", "http://agents.internal:9001/x", True),
        ("agents.internal:443", "https://agents.internal/x", True),
        ("agents.internal:9001", "http://agents.internal:9002/x", False),
        ("*.agents.internal", "https://flights.agents.internal/", True),
        ("*.agents.internal", "https://a.b.agents.internal/", True),
        ("*.agents.internal", "https://agents.internal/", False),
        ("*.agents.internal", "https://flightsagents.internal/", False),
        ("*.agents.internal:8443", "https://x.agents.internal:8443/", True),
        ("*.agents.internal:8443", "https://x.agents.internal/", False),
        ("https://agents.example.com/a2a/", "https://agents.example.com/a2a/v1", True),
        ("https://agents.example.com/a2a/", "https://agents.example.com:443/a2a", True),
        ("https://agents.example.com/a2a", "https://agents.example.com/a2a-admin/", False),
        ("https://agents.example.com/a2a/", "https://agents.example.com/a2a/../admin", False),
        ("https://agents.example.com/a2a/", "http://agents.example.com/a2a/v1", False),
        ("https://agents.example.com/a2a/", "https://agents.example.com:8443/a2a/v1", False),
        ("https://agents.example.com", "https://agents.example.com/anything?q=1", True),
        ("[::1]:8080", "http://[::1]:8080/", True),
        ("[::1]", "http://[0:0::1]:9/", True),
        ("127.0.0.1", "http://127.0.0.2/", False),
    ],
)
def test_matching(entry: str, url: str, trusted: bool) -> None:
    assert TrustedPeers([entry]).trusts(Destination.from_url(url)) is trusted


def test_unknown_destination_is_never_trusted() -> None:
    assert TrustedPeers(["agents.internal"]).trusts(None) is False
    assert Destination.from_url("not a url") is None
    assert Destination.from_url("http://host:99999/") is None
    with pytest.raises(ValueError, match="absolute URL with a host"):
        oi.set_destination("/relative/path")


def test_url_prefix_rules_need_a_url_not_just_a_host() -> None:
    peers = TrustedPeers(["https://agents.example.com/a2a/"])
    assert not peers.trusts(Destination("agents.example.com", 443))


@pytest.mark.parametrize(
    ("kind", "span_attributes", "expected"),
    [
        (SpanKind.CLIENT, {"url.full": "https://Flights.internal/a2a"}, ("flights.internal", 443)),
        (SpanKind.CLIENT, {"http.url": "http://flights.internal:8080/"}, ("flights.internal", 8080)),
        (SpanKind.CLIENT, {"server.address": "flights.internal", "server.port": 9001}, ("flights.internal", 9001)),
        (SpanKind.CLIENT, {"net.peer.name": "flights.internal"}, ("flights.internal", None)),
        (SpanKind.CLIENT, {}, None),
        (SpanKind.SERVER, {"http.url": "http://me.internal/", "server.address": "me.internal"}, None),
        (SpanKind.INTERNAL, {"url.full": "http://flights.internal/"}, None),
        (SpanKind.PRODUCER, {"server.address": "broker.internal"}, None),
    ],
)
def test_destination_from_the_current_span(
    kind: SpanKind, span_attributes: dict[str, Any], expected: tuple[str, int | None] | None, tracer: trace.Tracer
) -> None:
    with tracer.start_as_current_span("op", kind=kind, attributes=span_attributes):
        found = destination_of()
    assert (None if found is None else (found.host, found.port)) == expected


def test_explicit_and_span_destinations_must_agree(tracer: trace.Tracer) -> None:
    named = oi.set_destination("http://flights.internal:9001/a2a")  # attached around a call to another host:
    with tracer.start_as_current_span("GET", kind=SpanKind.CLIENT, attributes={"url.full": "https://api.model.com/"}):
        assert destination_of(oi.set_destination("http://flights.internal:9001/a2a")) is None  # conflict: unknown
    with tracer.start_as_current_span("a2a", kind=SpanKind.CLIENT, attributes={"server.address": "flights.internal"}):
        found = destination_of(oi.set_destination("http://flights.internal:9001/a2a"))
        assert found is not None and found.url == "http://flights.internal:9001/a2a"  # the more precise one
    with tracer.start_as_current_span(
        "POST", kind=SpanKind.CLIENT, attributes={"url.full": "http://flights.internal:9001/a2a/v1/message"}
    ):
        found = destination_of(oi.set_destination("http://flights.internal:9001/a2a"))
        assert found is not None and found.url == "http://flights.internal:9001/a2a/v1/message"  # the request's
    assert destination_of(named) == Destination("flights.internal", 9001, "http://flights.internal:9001/a2a")


def test_non_recording_client_span_gives_no_destination(tracer_provider: TracerProvider) -> None:
    span = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
    with trace.use_span(span):
        assert destination_of() is None
    assert attr.SESSION_ID == "session.id"  # the key the propagator guards
