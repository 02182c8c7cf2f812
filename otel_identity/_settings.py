"""Process-wide settings for what crosses service boundaries: the environment, as changed by ``configure()``.

The environment is read once, on first use. A bad ``OTEL_IDENTITY_TRUSTED_PEERS`` never
raises on the request path: it is logged once at ERROR, naming the variable and the bad
entry, and no destination is trusted until it is fixed (fail closed). ``configure()`` raises
``ValueError`` for it instead, unless ``trusted_peers=`` overrides the variable. A bad
``OTEL_IDENTITY_INBOUND`` logs a warning and ignores inbound claims (also fail closed).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry.propagators.textmap import Getter

from otel_identity import environment_variables as env
from otel_identity._trust import TrustedPeers

__all__ = ["AcceptInbound", "InboundIdentity", "Settings", "get_settings", "reset_settings", "update_settings"]

logger = logging.getLogger("otel_identity")

_INBOUND_MODES: Final = ("accept", "ignore")


@dataclass(frozen=True)
class InboundIdentity:
    """An identity claim read from an incoming request's baggage, already validated.

    Validated means well-formed (allowed key, length, charset, size limits), not true: any
    caller can claim any session. ``carrier`` is the request's carrier as given to the
    propagator (the ASGI ``scope`` under opentelemetry-instrumentation-asgi, the headers
    mapping under the A2A instrumentation, the ``_meta`` dict for MCP), so a hook can accept
    claims only from authenticated callers; :meth:`header` reads a field of it.
    """

    session_id: str | None = None
    user_id: str | None = None
    carrier: Any = field(repr=False, default=None)
    getter: Getter[Any] | None = field(repr=False, default=None, compare=False)

    def header(self, name: str) -> list[str]:
        """Values of field ``name`` of the carrier (e.g. ``"authorization"``), ``[]`` when absent.

        Read with the getter the propagator was given; for plain mappings the name also
        matches case-insensitively.
        """
        found: Iterable[object] | None = self.getter.get(self.carrier, name) if self.getter is not None else None
        if not found and isinstance(self.carrier, Mapping):
            wanted = name.lower()
            for key, value in self.carrier.items():
                if isinstance(key, str) and key.lower() == wanted:
                    found = value if isinstance(value, (list, tuple)) else [value]
                    break
        if isinstance(found, str):
            found = [found]
        return [value for value in found or () if isinstance(value, str)]


AcceptInbound = Callable[[InboundIdentity], bool]
"""Decides whether a caller's claim is accepted; must return ``True`` to accept (anything else rejects)."""


def _accept_all(claim: InboundIdentity) -> bool:
    return True


def _reject_all(claim: InboundIdentity) -> bool:
    return False


@dataclass(frozen=True)
class Settings:
    """What crosses service boundaries (immutable; replaced as a whole by ``update_settings``)."""

    trusted_peers: TrustedPeers = field(default_factory=TrustedPeers)
    baggage_user_id: bool = False
    """``user.id`` crosses too: sent to trusted peers, and accepted from callers."""
    accept_inbound: AcceptInbound = _accept_all
    trusted_peers_error: str | None = None
    """Why ``OTEL_IDENTITY_TRUSTED_PEERS`` was rejected; while set, no destination is trusted."""


def _bool_env(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    logger.warning("otel-identity: %s=%r is not true/false; using %s", name, raw, default)
    return default


def _inbound_env() -> AcceptInbound:
    raw = os.environ.get(env.OTEL_IDENTITY_INBOUND, "").strip().lower() or "accept"
    if raw not in _INBOUND_MODES:
        logger.warning(
            "otel-identity: %s=%r is not 'accept' or 'ignore'; inbound identity is ignored until it is fixed",
            env.OTEL_IDENTITY_INBOUND,
            raw,
        )
        return _reject_all
    return _accept_all if raw == "accept" else _reject_all


def _from_environment(*, report: bool = True) -> Settings:
    """Settings from the environment; never raises (a bad trusted-peer list trusts nobody).

    ``report``: log a bad trusted-peer list (``configure()`` raises instead, or overrides it).
    """
    raw = os.environ.get(env.OTEL_IDENTITY_TRUSTED_PEERS, "")
    error: str | None = None
    try:
        peers = TrustedPeers(raw)
    except ValueError as exc:
        peers = TrustedPeers()
        error = str(exc)
    if error is not None and report:
        logger.error(
            "otel-identity: %s is invalid: %s. No destination receives identity baggage until it is fixed.",
            env.OTEL_IDENTITY_TRUSTED_PEERS,
            error,
        )
    return Settings(
        trusted_peers=peers,
        baggage_user_id=_bool_env(env.OTEL_IDENTITY_BAGGAGE_USER_ID, False),
        accept_inbound=_inbound_env(),
        trusted_peers_error=error,
    )


_lock = threading.Lock()
_settings: Settings | None = None


def get_settings() -> Settings:
    """The settings in force: the environment's, as changed by ``configure()``. Never raises."""
    current = _settings
    if current is None:
        current = _load()
    return current


def _load() -> Settings:
    global _settings
    with _lock:
        if _settings is None:
            _settings = _from_environment()
        return _settings


def update_settings(
    *,
    trusted_peers: TrustedPeers | None = None,
    baggage_user_id: bool | None = None,
    accept_inbound: AcceptInbound | None = None,
) -> Settings:
    """Override what was given and keep the rest (used by ``configure()``).

    Raises ``ValueError`` for a bad argument, and for a bad ``OTEL_IDENTITY_TRUSTED_PEERS``
    that ``trusted_peers`` does not override: set-up is where configuration errors surface.
    """
    if trusted_peers is not None and not isinstance(trusted_peers, TrustedPeers):
        raise ValueError(f"trusted_peers must be a TrustedPeers, got {type(trusted_peers).__name__}")
    if baggage_user_id is not None and not isinstance(baggage_user_id, bool):
        raise ValueError(f"baggage_user_id must be a bool, got {type(baggage_user_id).__name__}")
    if accept_inbound is not None and not callable(accept_inbound):
        raise ValueError(f"accept_inbound must be callable, got {type(accept_inbound).__name__}")
    global _settings
    with _lock:
        base = _settings if _settings is not None else _from_environment(report=False)
        if trusted_peers is None and base.trusted_peers_error is not None:
            _settings = base
            raise ValueError(f"{env.OTEL_IDENTITY_TRUSTED_PEERS} is invalid: {base.trusted_peers_error}")
        _settings = Settings(
            trusted_peers=trusted_peers if trusted_peers is not None else base.trusted_peers,
            baggage_user_id=baggage_user_id if baggage_user_id is not None else base.baggage_user_id,
            accept_inbound=accept_inbound if accept_inbound is not None else base.accept_inbound,
        )
        return _settings


def reset_settings() -> None:
    """Forget overrides and re-read the environment on next use (tests)."""
    global _settings
    with _lock:
        _settings = None
