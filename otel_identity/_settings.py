"""Process-wide settings for what crosses service boundaries, read from the environment once."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from otel_identity import environment_variables as env
from otel_identity._trust import TrustedPeers

__all__ = ["InboundIdentity", "Settings", "get_settings", "update_settings"]

logger = logging.getLogger("otel_identity")


@dataclass(frozen=True)
class InboundIdentity:
    """An identity claim read from an incoming request's baggage, already validated.

    ``carrier`` is the request's carrier as given to the propagator (for HTTP servers, the
    headers), so a hook can accept claims only from authenticated callers.
    """

    session_id: str | None
    user_id: str | None
    carrier: Any = field(repr=False, default=None)


AcceptInbound = Callable[[InboundIdentity], bool]


def _accept_all(claim: InboundIdentity) -> bool:
    return True


def _reject_all(claim: InboundIdentity) -> bool:
    return False


@dataclass(frozen=True)
class Settings:
    trusted_peers: TrustedPeers = field(default_factory=TrustedPeers)
    baggage_user_id: bool = False
    accept_inbound: AcceptInbound = _accept_all


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


def _from_environment() -> Settings:
    inbound = os.environ.get(env.OTEL_IDENTITY_INBOUND, "accept").strip().lower() or "accept"
    if inbound not in ("accept", "ignore"):
        logger.warning("otel-identity: %s=%r is not accept/ignore; using accept", env.OTEL_IDENTITY_INBOUND, inbound)
        inbound = "accept"
    return Settings(
        trusted_peers=TrustedPeers(os.environ.get(env.OTEL_IDENTITY_TRUSTED_PEERS, "")),
        baggage_user_id=_bool_env(env.OTEL_IDENTITY_BAGGAGE_USER_ID, False),
        accept_inbound=_accept_all if inbound == "accept" else _reject_all,
    )


_lock = threading.Lock()
_settings: Settings | None = None


def get_settings() -> Settings:
    """The settings in force: the environment's, as changed by ``configure()``."""
    global _settings
    current = _settings
    if current is None:
        with _lock:
            if _settings is None:
                _settings = _from_environment()
            current = _settings
    return current


def update_settings(
    *,
    trusted_peers: TrustedPeers | None = None,
    baggage_user_id: bool | None = None,
    accept_inbound: AcceptInbound | None = None,
) -> Settings:
    """Override what was given; keep the rest. Used by ``configure()``."""
    global _settings
    with _lock:
        base = _settings if _settings is not None else _from_environment()
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
