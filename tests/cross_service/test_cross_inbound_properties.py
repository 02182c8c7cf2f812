"""Property-based tests of the inbound side: baggage from a caller is untrusted input.

For any header (malformed, oversized, percent-encoded, unicode, surrogates, duplicate keys):
no exception escapes; nothing outside the limits becomes identity; other libraries' entries
come out exactly as the W3C propagator would keep them; valid identity survives. And what the
outbound side sends to a trusted peer is exactly what the inbound side accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from opentelemetry import baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context

import otel_identity as oi
from otel_identity import attributes as attr
from otel_identity._settings import reset_settings, update_settings
from otel_identity._trust import TrustedPeers

PROPAGATOR = oi.IdentityBaggagePropagator()
W3C = W3CBaggagePropagator()
IDENTITY = re.compile(r"[A-Za-z0-9._~:@/+=#-]{1,256}")
KEYS = (attr.SESSION_ID, attr.USER_ID)

KEY_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
VALUE_CHARS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\ ')
ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~:@/+=#-"

other_keys = st.text(KEY_CHARS, min_size=1, max_size=12).filter(lambda key: unquote_plus(key).strip() not in KEYS)
other_values = st.text(VALUE_CHARS, max_size=24)
valid_ids = st.text(ID_CHARS, min_size=1, max_size=256)
anything = st.text(st.characters(exclude_categories=()), max_size=64)  # includes lone surrogates
ows = st.sampled_from(["", " ", "\t", "  "])


def encoded(value: str) -> st.SearchStrategy[str]:
    """Ways a sender may write ``value``: raw (if legal), percent-encoded, as Python's W3C propagator, with a property.

    W3C percent-encoding leaves "+" as is; Python's propagator writes it as %2B (quote_plus).
    """
    forms = [quote(value, safe=""), quote_plus(value), quote(value, safe="") + ";ttl=10"]
    if all(char in VALUE_CHARS for char in value):
        forms.append(value)
    return st.sampled_from(forms)


@st.composite
def members(draw: st.DrawFn) -> str:
    """One list-member: valid other entry, identity entry (valid or not), or junk."""
    kind = draw(st.sampled_from(["other", "identity", "identity-junk", "junk", "empty", "percent-key"]))
    if kind == "other":
        return f"{draw(other_keys)}{draw(ows)}={draw(ows)}{draw(other_values)}"
    if kind == "identity":
        return f"{draw(st.sampled_from(KEYS))}={draw(valid_ids.flatmap(encoded))}"
    if kind == "identity-junk":
        return f"{draw(st.sampled_from(KEYS))}={draw(anything)}"
    if kind == "percent-key":
        return f"session%2Eid={draw(valid_ids.flatmap(encoded))}"
    if kind == "empty":
        return ""
    return draw(anything)


headers = st.lists(members(), max_size=12).map(",".join)
carriers = st.one_of(
    headers.map(lambda header: {"baggage": header}),
    st.lists(headers, min_size=1, max_size=3).map(lambda values: {"baggage": values}),
    st.builds(lambda text: {"baggage": text}, anything),
    st.builds(lambda text: {"baggage": text.encode("utf-8", "surrogatepass")}, anything),
    st.builds(lambda n: {"baggage": "a=1," * n + "session.id=s-big"}, st.integers(170, 2100)),
    st.builds(lambda n: {"baggage": f"session.id=s-long,pad={'x' * n}"}, st.integers(4000, 9000)),
)


@pytest.fixture(autouse=True)
def inbound_defaults() -> Iterator[None]:
    """Default inbound settings (accept, no user.id) for every test here, whatever the environment says."""
    reset_settings()
    update_settings(trusted_peers=TrustedPeers(["peer.internal"]), baggage_user_id=False, accept_inbound=lambda _: True)
    yield
    reset_settings()


def w3c_entries(carrier: dict[str, Any]) -> dict[str, object] | None:
    """What the W3C propagator keeps, or ``None`` when it raises on this carrier."""
    try:
        return dict(baggage.get_all(W3C.extract(carrier, Context())))
    except Exception:
        return None


def raw_identity_values(carrier: dict[str, Any], key: str) -> list[str]:
    values = carrier["baggage"] if isinstance(carrier["baggage"], list) else [carrier["baggage"]]
    found = []
    for header in values:
        for member in re.split(r"[ \t]*,[ \t]*", header.strip(" \t")):
            name, sep, raw = member.partition("=")
            if sep and unquote_plus(name.strip(" \t")).strip() == key:
                found.append(unquote(raw.split(";", 1)[0].strip(" \t")).strip())
    return found


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(carriers)
def test_no_exception_nothing_over_the_limits_others_as_w3c(carrier: dict[str, Any]) -> None:
    context = PROPAGATOR.extract(carrier, Context())  # must not raise, whatever the carrier holds

    kept = dict(baggage.get_all(context))
    assert not set(kept) & set(KEYS)  # raw claims never stay in baggage
    expected = w3c_entries(carrier)
    if expected is not None:
        assert kept == {key: value for key, value in expected.items() if key not in KEYS}

    identities = oi.get_identities(context)
    if identities is None:
        return
    assert identities.user_id is None  # not opted in
    session = identities.session_id
    assert session is not None and IDENTITY.fullmatch(session)
    assert expected is not None and attr.SESSION_ID in expected  # the W3C propagator accepted it too
    values = carrier["baggage"] if isinstance(carrier["baggage"], list) else [carrier["baggage"]]
    assert sum(len(value.encode()) for value in values) + len(values) - 1 <= PROPAGATOR.MAX_HEADER_LENGTH
    assert sum(len([m for m in re.split(r"[ \t]*,[ \t]*", v.strip(" \t")) if m]) for v in values) <= 180
    assert set(raw_identity_values(carrier, attr.SESSION_ID)) == {session}  # no conflicting duplicate


@settings(max_examples=200)
@given(
    others=st.dictionaries(other_keys, other_values, max_size=10),
    session=valid_ids,
    written=st.data(),
    copies=st.integers(1, 3),
    order=st.randoms(use_true_random=False),
)
def test_valid_identity_and_other_entries_survive(
    others: dict[str, str], session: str, written: st.DataObject, copies: int, order: Any
) -> None:
    parts = [f"{key}={value}" for key, value in others.items()]
    parts += [f"{attr.SESSION_ID}={written.draw(encoded(session))}" for _ in range(copies)]  # same value repeated
    order.shuffle(parts)
    header = ",".join(parts)
    assume(len(header.encode()) <= 8192)
    context = PROPAGATOR.extract({"baggage": header}, Context())
    identities = oi.get_identities(context)
    assert identities is not None and identities.session_id == session
    expected = w3c_entries({"baggage": header})
    assert expected is not None
    assert dict(baggage.get_all(context)) == {key: value for key, value in expected.items() if key not in KEYS}


@given(first=valid_ids, second=valid_ids, others=st.dictionaries(other_keys, other_values, max_size=4))
def test_duplicate_keys_with_different_values_give_no_identity(first: str, second: str, others: dict[str, str]) -> None:
    assume(first != second)
    header = ",".join(
        [
            f"session.id={quote(first, safe='')}",
            *(f"{k}={v}" for k, v in others.items()),
            f"session.id={quote(second, safe='')}",
        ]
    )
    context = PROPAGATOR.extract({"baggage": header}, Context())
    assert oi.get_identities(context) is None
    expected = w3c_entries({"baggage": header})
    assert expected is not None and dict(baggage.get_all(context)) == {
        key: value for key, value in expected.items() if key not in KEYS
    }


@given(value=st.text(st.characters(exclude_categories=()), min_size=1, max_size=40))
def test_unicode_and_text_values_are_never_identity(value: str) -> None:
    assume(not IDENTITY.fullmatch(value.strip()))
    encoded_value = quote(value, safe="", errors="surrogatepass")
    context = PROPAGATOR.extract({"baggage": f"session.id={encoded_value},k=v"}, Context())
    assert oi.get_identities(context) is None
    assert dict(baggage.get_all(context)) == {"k": "v"}


@given(extra=st.integers(1, 200))
def test_over_the_length_and_entry_limits_no_identity(extra: int) -> None:
    too_long = "s" * (PROPAGATOR.MAX_VALUE_LENGTH + extra)
    assert oi.get_identities(PROPAGATOR.extract({"baggage": f"session.id={too_long}"}, Context())) is None
    many = ",".join(["session.id=ok", *(f"k{index}=v" for index in range(PROPAGATOR.MAX_ENTRIES - 1 + extra))])
    context = PROPAGATOR.extract({"baggage": many}, Context())
    assert oi.get_identities(context) is None
    assert len(baggage.get_all(context)) == PROPAGATOR.MAX_ENTRIES - 1  # W3C keeps its first 180; ours minus session


def test_two_headers_over_8192_bytes_together_give_no_identity() -> None:
    first = "session.id=s-1,pad=" + "x" * 4000
    carrier = {"baggage": [first, "more=" + "y" * 4200]}
    context = PROPAGATOR.extract(carrier, Context())
    assert oi.get_identities(context) is None
    assert baggage.get_all(context) == {"pad": "x" * 4000}  # as W3C: first header only, under its limit


printable = st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=256)


@settings(max_examples=200)
@given(
    session=st.one_of(valid_ids, printable),
    user=st.one_of(st.just(""), valid_ids, printable),
    user_opt_in=st.booleans(),
)
def test_what_is_sent_to_a_trusted_peer_is_exactly_what_it_accepts(session: str, user: str, user_opt_in: bool) -> None:
    try:
        context = oi.set_session(session, user_id=user or None)
    except ValueError:
        assume(False)
    update_settings(baggage_user_id=user_opt_in)
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, oi.set_destination("https://peer.internal/a2a", context))
    received = oi.get_identities(PROPAGATOR.extract(carrier, Context()))
    sendable = IDENTITY.fullmatch(session) is not None
    assert (received is not None and received.session_id == session) is sendable
    if sendable and received is not None:
        assert received.user_id == (user if user_opt_in and IDENTITY.fullmatch(user) else None)
    # And nothing at all to a destination that is not trusted.
    carrier = {}
    PROPAGATOR.inject(carrier, oi.set_destination("https://api.model.example/v1", context))
    assert carrier == {}
