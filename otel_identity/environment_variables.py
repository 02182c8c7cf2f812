"""Environment variables read by otel-identity, in the style of ``opentelemetry.sdk.environment_variables``.

Each is read once, when :func:`otel_identity.configure` or the propagator is set up;
keyword arguments of ``configure()`` override them. A bad value logs a warning and falls
back to the default, except for trusted peers, where a typo could leak identity: a bad
entry there raises ``ValueError`` at set-up.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "OTEL_IDENTITY_BAGGAGE_USER_ID",
    "OTEL_IDENTITY_INBOUND",
    "OTEL_IDENTITY_TRUSTED_PEERS",
]

OTEL_IDENTITY_TRUSTED_PEERS: Final = "OTEL_IDENTITY_TRUSTED_PEERS"
"""Comma-separated destinations that may receive identity baggage (``session.id``).

Each entry is a host (``agents.internal``), ``host:port`` (``127.0.0.1:9001``), a URL
prefix (``https://agents.example.com/a2a/``) or a domain wildcard (``*.agents.internal``,
which matches sub-domains only). Empty (the default): no destination receives identity.
A bad entry is logged once at ERROR naming it, and then nobody is trusted (fail closed);
``configure()`` raises ``ValueError`` for it instead, unless ``trusted_peers=`` overrides it.
"""

OTEL_IDENTITY_BAGGAGE_USER_ID: Final = "OTEL_IDENTITY_BAGGAGE_USER_ID"
"""``true`` to also send ``user.id`` to trusted peers. Default ``false``: a user id is personal data."""

OTEL_IDENTITY_INBOUND: Final = "OTEL_IDENTITY_INBOUND"
"""What to do with identity claims in incoming baggage: ``accept`` (default) or ``ignore``.

Accepted claims only label spans; they never authorize anything. Use ``ignore`` (or an
``accept_inbound`` hook in ``configure()``) for services reachable by untrusted callers.
Any other value logs a warning and means ``ignore`` (fail closed).
"""
