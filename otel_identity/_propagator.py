"""W3C baggage that carries durable identity to trusted peers only, and checks what arrives.

:class:`IdentityBaggagePropagator` replaces OpenTelemetry's ``baggage`` propagator
(``OTEL_PROPAGATORS=tracecontext,otel_identity``; do not list ``baggage`` as well). Other
libraries' baggage passes through both ways exactly as the W3C propagator handles it; only
the identity keys (``session.id``, and ``user.id`` when opted in) are treated differently.

Inject
    The identity in scope (or the app's own identity baggage) is added only when the
    destination is trusted (:mod:`otel_identity._trust`), and only values a peer would accept
    (see extract). Otherwise the identity keys are stripped from the injection, also when the
    app put them into baggage itself, and from a ``baggage`` field the carrier already holds
    (a redirect re-sends the previous hop's headers: httpx and requests both do).
Extract
    Identity baggage is untrusted input. A claim is dropped, with a debug log and never an
    exception, when: the baggage is over :attr:`~IdentityBaggagePropagator.MAX_HEADER_LENGTH`
    bytes or :attr:`~IdentityBaggagePropagator.MAX_ENTRIES` list-members; the key is not on
    the allow-list (``user.id`` only when opted in); the key is repeated with different
    values; the value is empty, longer than :attr:`~IdentityBaggagePropagator.MAX_VALUE_LENGTH`
    or outside ``[A-Za-z0-9._~:@/+=#-]`` once percent-decoded. Then the ``accept_inbound`` hook
    decides (it must return ``True``). An accepted claim becomes the identity of the extracted
    context, so the receiving side's spans carry ``session.id``. Identity keys are always
    removed from the extracted baggage: a raw claim never reaches a baggage span processor,
    and only this propagator sends identity on.
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
from collections.abc import Iterable, Mapping, MutableMapping
from typing import ClassVar, Final
from urllib.parse import unquote, unquote_plus

from opentelemetry import baggage
from opentelemetry import context as context_api
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

from otel_identity._identities import Identities, get_identities, set_identities
from otel_identity._safety import guard
from otel_identity._settings import AcceptInbound, InboundIdentity, Settings, get_settings
from otel_identity._trust import destination_of
from otel_identity._validation import MAX_ID_LENGTH
from otel_identity.placement import BAGGAGE_KEYS, Baggage

__all__ = ["IdentityBaggagePropagator"]

logger = logging.getLogger("otel_identity")

_HEADER: Final = "baggage"
_IDENTITY_KEYS: Final = tuple(BAGGAGE_KEYS)
"""Every baggage key of ours (placement rows with ``baggage`` other than NEVER): stripped, validated, re-sent."""
_DEFAULT_KEYS: Final = tuple(key for key, row in BAGGAGE_KEYS.items() if row.baggage is Baggage.TRUSTED)
"""The keys that cross without the app's opt-in."""
_FIELDS: Final = {key: row.field for key, row in BAGGAGE_KEYS.items() if row.field is not None}
"""Baggage key -> the :class:`Identities` field it is read from and becomes."""


def _keys(settings: Settings) -> tuple[str, ...]:
    return _IDENTITY_KEYS if settings.baggage_user_id else _DEFAULT_KEYS


_DELIMITER: Final = re.compile(r"[ \t]*,[ \t]*")
_W3C_VALUE: Final = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
"""W3C ``baggage-octet``: what a raw (still percent-encoded) value may contain."""
_IDENTITY_VALUE: Final = re.compile(r"[A-Za-z0-9._~:@/+=#-]+")
"""What a decoded identity value may contain: ids, not text (no spaces, quotes, controls, non-ASCII)."""
_W3C_MAX_BYTES: Final = 8192
_W3C_MAX_MEMBERS: Final = 180
"""The W3C propagator's limits (its ``_MAX_HEADER_LENGTH`` and ``_MAX_PAIRS``), for our own checks."""
_INVALID: Final = "\x00invalid"
"""Stands for a member that failed a check, so a valid duplicate of the same key counts as a conflict."""

_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(kind: str, message: str, *args: object, exc_info: bool = False) -> None:
    """WARNING the first time, DEBUG after: a hot path with a persistent fault must not flood logs."""
    with _warned_lock:
        first = kind not in _warned
        _warned.add(kind)
    logger.log(logging.WARNING if first else logging.DEBUG, message, *args, exc_info=exc_info)


def _valid_identity(value: object, max_length: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_length and _IDENTITY_VALUE.fullmatch(value) is not None


def _without_identity(context: Context | None) -> Context:
    """``context`` (default: current) with the identity keys removed from its baggage."""
    resolved = context if context is not None else context_api.get_current()
    entries = baggage.get_all(resolved)
    for key in _IDENTITY_KEYS:
        if key in entries:
            resolved = baggage.remove_baggage(key, resolved)
    return resolved


def _member_key(member: str) -> str:
    return unquote_plus(member.split("=", 1)[0].strip(" \t")).strip()


def _strip_members(header: str) -> str | None:
    """``header`` without identity list-members, or ``None`` when it has none."""
    members = header.split(",")
    kept = [member.strip(" \t") for member in members if _member_key(member) not in _IDENTITY_KEYS]
    if len(kept) == len(members):
        return None
    return ",".join(member for member in kept if member)


def _scrub_carrier(carrier: object) -> None:
    """Remove identity members from a ``baggage`` field the carrier already holds (mappings only)."""
    if not isinstance(carrier, MutableMapping):
        return
    for name in [key for key in carrier if isinstance(key, str) and key.lower() == _HEADER]:
        value = carrier[name]
        if isinstance(value, str):
            stripped = _strip_members(value)
            if stripped is None:
                continue
            if stripped:
                carrier[name] = stripped
            else:
                del carrier[name]
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            kept = [item if (cut := _strip_members(item)) is None else cut for item in value]
            kept = [item for item in kept if item]
            if kept != value:
                if kept:
                    carrier[name] = kept
                else:
                    del carrier[name]


class IdentityBaggagePropagator(TextMapPropagator):
    """Baggage propagator that sends identity only to trusted destinations and validates it on receipt.

    Registered as the ``otel_identity`` entry point of ``opentelemetry_propagator``. The
    limits are class constants (as in the W3C propagator); a subclass may lower them.
    """

    MAX_HEADER_LENGTH: ClassVar[int] = _W3C_MAX_BYTES
    """W3C limit for the whole baggage, in bytes (all ``baggage`` fields together); over it, no identity."""
    MAX_ENTRIES: ClassVar[int] = _W3C_MAX_MEMBERS
    """Most list-members a baggage may have (the W3C propagator's limit); over it, no identity."""
    MAX_VALUE_LENGTH: ClassVar[int] = MAX_ID_LENGTH
    """Longest identity value accepted from a peer, and sent to one, in characters once decoded."""

    def __init__(self) -> None:
        self._w3c = W3CBaggagePropagator()
        with guard("IdentityBaggagePropagator settings"):
            get_settings()  # read the environment now: a bad value is reported at start-up

    @property
    def fields(self) -> set[str]:
        return {_HEADER}

    # Outbound -----------------------------------------------------------------------------

    def inject(
        self, carrier: CarrierT, context: Context | None = None, setter: Setter[CarrierT] = default_setter
    ) -> None:
        try:
            outgoing = self._outgoing(carrier, context)
        except Exception:
            _warn_once("inject", "otel-identity: error preparing baggage; identity not sent", exc_info=True)
            outgoing = _without_identity(context)
        self._w3c.inject(carrier, outgoing, setter)

    def _outgoing(self, carrier: CarrierT, context: Context | None) -> Context | None:
        entries = baggage.get_all(context)
        identities = get_identities(context)
        in_scope = identities is not None and any(getattr(identities, name) is not None for name in _FIELDS.values())
        if not in_scope and not any(key in entries for key in _IDENTITY_KEYS):
            return context  # fast path: nothing of ours to send or strip
        settings = get_settings()
        wanted = self._wanted(entries, identities, settings)
        if wanted and settings.trusted_peers and settings.trusted_peers.trusts(destination_of(context)):
            return _with_identity_first(context, entries, wanted)
        _scrub_carrier(carrier)
        return _without_identity(context)

    def _wanted(
        self, entries: Mapping[str, object], identities: Identities | None, settings: Settings
    ) -> dict[str, str]:
        """Identity to send to a trusted peer: the scope's, else the app's own baggage; only valid values."""
        wanted: dict[str, str] = {}
        for key in _keys(settings):
            value: object = None
            if identities is not None:
                value = getattr(identities, _FIELDS[key])
            if value is None:
                value = entries.get(key)
            if value is None:
                continue
            if _valid_identity(value, self.MAX_VALUE_LENGTH):
                wanted[key] = str(value)
            else:
                logger.debug("otel-identity: %s not sent: a peer would reject its value (length or charset)", key)
        return wanted

    # Inbound ------------------------------------------------------------------------------

    def extract(
        self, carrier: CarrierT, context: Context | None = None, getter: Getter[CarrierT] = default_getter
    ) -> Context:
        try:
            extracted = self._w3c.extract(carrier, context, getter)
        except Exception:
            logger.debug("otel-identity: unreadable baggage ignored", exc_info=True)
            return context if context is not None else context_api.get_current()
        try:
            return self._accept(carrier, extracted, getter)
        except Exception:
            _warn_once("extract", "otel-identity: error checking inbound identity; claim ignored", exc_info=True)
            return _without_identity(extracted)

    def _accept(self, carrier: CarrierT, context: Context, getter: Getter[CarrierT]) -> Context:
        received = baggage.get_all(context)
        present = [key for key in _IDENTITY_KEYS if key in received]
        if not present:
            return context
        for key in present:
            context = baggage.remove_baggage(key, context)
        settings = get_settings()
        allowed = _keys(settings)
        if not any(key in allowed for key in present):
            logger.debug("otel-identity: inbound %s ignored (not opted in)", ", ".join(present))
            return context
        claims = self._claims(getter.get(carrier, _HEADER), allowed)
        if not claims:
            return context
        fields = {_FIELDS[key]: value for key, value in claims.items()}
        claim = InboundIdentity(**fields, carrier=carrier, getter=getter)
        if not _hook_accepts(settings.accept_inbound, claim):
            logger.debug("otel-identity: inbound identity claim rejected by accept_inbound")
            return context
        outer = get_identities(context)
        if outer is None:  # the usual case at a request's entry
            return set_identities(Identities().with_changes(**fields), context)
        return set_identities(outer.with_changes(**fields), context)

    def _claims(self, headers: Iterable[object] | None, allowed: tuple[str, ...]) -> dict[str, str]:
        """Identity entries of the raw ``baggage`` fields that pass every check; the rest dropped with a debug log."""
        if isinstance(headers, str):
            headers = [headers]
        texts = [header for header in headers or () if isinstance(header, str)]
        size = sum(len(text.encode("utf-8", "replace")) for text in texts) + max(len(texts) - 1, 0)
        if size > self.MAX_HEADER_LENGTH:
            logger.debug(
                "otel-identity: baggage of %d bytes is over %d; identity ignored", size, self.MAX_HEADER_LENGTH
            )
            return {}
        members = [member for text in texts for member in _DELIMITER.split(text.strip(" \t")) if member]
        if len(members) > self.MAX_ENTRIES:
            logger.debug(
                "otel-identity: baggage with %d members is over %d; identity ignored", len(members), self.MAX_ENTRIES
            )
            return {}
        seen: dict[str, set[str]] = {}
        for member in members:
            name, sep, raw = member.partition("=")
            key = name.strip(" \t")
            if "%" in key or "+" in key:  # decode keys as the W3C propagator does, only when needed
                key = unquote_plus(key).strip()
            if sep and key in allowed:
                seen.setdefault(key, set()).add(self._claim_value(raw))
        claims: dict[str, str] = {}
        for key, values in seen.items():
            if len(values) != 1:
                logger.debug("otel-identity: %s sent with %d different values; dropped", key, len(values))
                continue
            value = next(iter(values))
            if value == _INVALID:
                logger.debug("otel-identity: %s value rejected (format, length or charset)", key)
                continue
            claims[key] = value
        return claims

    def _claim_value(self, raw: str) -> str:
        """The decoded value of one list-member (properties after ``;`` ignored), or :data:`_INVALID`."""
        value = raw.split(";", 1)[0].strip(" \t")
        if not value.isascii() or _W3C_VALUE.fullmatch(value) is None:
            return _INVALID
        # Percent-decoding as W3C specifies ("+" stays "+"; the Python propagator sends "+" as %2B), so a
        # raw "+" from another language's propagator keeps its meaning.
        decoded = unquote(value).strip()
        return decoded if _valid_identity(decoded, self.MAX_VALUE_LENGTH) else _INVALID


def _with_identity_first(context: Context | None, entries: Mapping[str, object], wanted: dict[str, str]) -> Context:
    """Baggage with the identity entries, first when the W3C size limits could drop some entries."""
    others = [(key, value) for key, value in entries.items() if key not in _IDENTITY_KEYS]
    # Percent-encoding at most triples a value: under this bound the W3C propagator drops nothing.
    worst = 3 * sum(len(key) + len(str(value)) + 2 for key, value in (*others, *wanted.items()))
    if worst <= _W3C_MAX_BYTES and len(others) + len(wanted) <= _W3C_MAX_MEMBERS:
        context = _without_identity(context)  # an identity key not wanted (user.id not opted in) must not go
        for key, value in wanted.items():
            context = baggage.set_baggage(key, value, context)
        return context
    ordered = baggage.clear(context if context is not None else context_api.get_current())
    for key, value in wanted.items():
        ordered = baggage.set_baggage(key, value, ordered)
    for key, other in others:
        ordered = baggage.set_baggage(key, other, ordered)
    return ordered


def _hook_accepts(hook: AcceptInbound, claim: InboundIdentity) -> bool:
    """Run the app's hook safely: only a literal ``True`` accepts; errors and anything else reject."""
    result: object = False
    with guard("accept_inbound hook"):
        result = hook(claim)
    if result is True:
        return True
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if callable(close):
            close()
        _warn_once("hook-async", "otel-identity: accept_inbound must be a plain function, not async; claim rejected")
    elif result is not False:
        _warn_once("hook-type", "otel-identity: accept_inbound returned %s, not bool; claim rejected", type(result))
    return False
