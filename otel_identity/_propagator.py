"""W3C baggage that carries durable identity to trusted peers only, and checks what arrives.

:class:`IdentityBaggagePropagator` replaces OpenTelemetry's ``baggage`` propagator
(``OTEL_PROPAGATORS=tracecontext,otel_identity``). Other libraries' baggage passes through
both ways exactly as the W3C propagator would handle it; only the identity keys
(``session.id``, and ``user.id`` when opted in) are treated differently:

* inject: added from the scope in force, and only when the destination is trusted
  (:mod:`otel_identity._trust`); stripped from every other injection, also when the app put
  them into baggage itself.
* extract: untrusted input. A claim is dropped with a debug log when the header is over the
  W3C size limit, a key is repeated with different values, or a value fails the length or
  charset check; then the ``accept_inbound`` hook decides. An accepted claim becomes the
  session of the request's context (so the receiving side's spans carry ``session.id``)
  and is removed from the baggage itself, so only this propagator sends it on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import unquote_plus

from opentelemetry import baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)

from otel_identity import attributes as attr
from otel_identity._identities import EMPTY, get_identities, set_identities
from otel_identity._safety import guard
from otel_identity._settings import InboundIdentity, get_settings
from otel_identity._trust import destination_of
from otel_identity._validation import MAX_ID_LENGTH

__all__ = ["IdentityBaggagePropagator"]

logger = logging.getLogger("otel_identity")

_IDENTITY_KEYS: Final = (attr.SESSION_ID, attr.USER_ID)
_VALID_VALUE: Final = re.compile(r"^[\w.~:@/+=#-]+$")


class IdentityBaggagePropagator(TextMapPropagator):
    """Baggage propagator that sends identity only to trusted destinations and validates it on receipt."""

    MAX_HEADER_LENGTH: Final = 8192
    """W3C limit for the whole ``baggage`` header; a longer header carries no accepted identity."""
    MAX_VALUE_LENGTH: Final = MAX_ID_LENGTH
    """Longest identity value accepted from a peer."""

    def __init__(self) -> None:
        self._w3c = W3CBaggagePropagator()

    @property
    def fields(self) -> set[str]:
        return self._w3c.fields

    def inject(
        self, carrier: CarrierT, context: Context | None = None, setter: Setter[CarrierT] = default_setter
    ) -> None:
        outgoing = context
        with guard("IdentityBaggagePropagator.inject"):
            outgoing = self._outgoing(context)
        self._w3c.inject(carrier, outgoing, setter)

    def _outgoing(self, context: Context | None) -> Context | None:
        entries = baggage.get_all(context)
        identities = get_identities(context)
        settings = get_settings()
        if not settings.trusted_peers or not settings.trusted_peers.trusts(destination_of(context)):
            for key in _IDENTITY_KEYS:
                if key in entries:
                    context = baggage.remove_baggage(key, context)
            return context
        wanted: dict[str, str | None] = {attr.SESSION_ID: identities.session_id if identities else None}
        wanted[attr.USER_ID] = identities.user_id if identities and settings.baggage_user_id else None
        for key, value in wanted.items():
            if value is not None:
                context = baggage.set_baggage(key, value, context)
            elif key == attr.USER_ID and not settings.baggage_user_id and key in entries:
                context = baggage.remove_baggage(key, context)
        return context

    def extract(
        self, carrier: CarrierT, context: Context | None = None, getter: Getter[CarrierT] = default_getter
    ) -> Context:
        extracted = self._w3c.extract(carrier, context, getter)
        with guard("IdentityBaggagePropagator.extract"):
            extracted = self._accept(carrier, extracted, getter)
        return extracted

    def _accept(self, carrier: CarrierT, context: Context, getter: Getter[CarrierT]) -> Context:
        received = baggage.get_all(context)
        if not any(key in received for key in _IDENTITY_KEYS):
            return context
        for key in _IDENTITY_KEYS:
            context = baggage.remove_baggage(key, context)
        claims = _identity_claims(getter.get(carrier, "baggage") or [], self.MAX_HEADER_LENGTH, self.MAX_VALUE_LENGTH)
        if not claims:
            return context
        claim = InboundIdentity(
            session_id=claims.get(attr.SESSION_ID), user_id=claims.get(attr.USER_ID), carrier=carrier
        )
        try:
            accepted = bool(get_settings().accept_inbound(claim))
        except Exception:
            logger.warning("otel-identity: accept_inbound hook raised; claim rejected", exc_info=True)
            accepted = False
        if not accepted:
            logger.debug("otel-identity: inbound identity claim rejected by accept_inbound")
            return context
        outer = get_identities(context) or EMPTY
        changes: dict[str, object] = {}
        if claim.session_id is not None:
            changes["session_id"] = claim.session_id
        if claim.user_id is not None:
            changes["user_id"] = claim.user_id
        return set_identities(outer.with_changes(**changes), context)


def _identity_claims(headers: Iterable[str], max_header: int, max_value: int) -> dict[str, str]:
    """Identity entries of raw ``baggage`` headers that pass every check; the rest dropped with a debug log."""
    headers = list(headers)
    if sum(len(header) for header in headers) > max_header:
        logger.debug("otel-identity: baggage over %d bytes; identity ignored", max_header)
        return {}
    seen: dict[str, set[str]] = {}
    for header in headers:
        for member in header.split(","):
            name, sep, rest = member.partition("=")
            key = unquote_plus(name).strip()
            if not sep or key not in _IDENTITY_KEYS:
                continue
            value = unquote_plus(rest.split(";", 1)[0]).strip()
            seen.setdefault(key, set()).add(value)
    claims: dict[str, str] = {}
    for key, values in seen.items():
        if len(values) != 1:
            logger.debug("otel-identity: %s sent with %d different values; dropped", key, len(values))
            continue
        value = next(iter(values))
        if not value or len(value) > max_value or not _VALID_VALUE.match(value):
            logger.debug("otel-identity: %s value rejected (length %d or charset)", key, len(value))
            continue
        claims[key] = value
    return claims
