"""Which destinations may receive identity baggage, and how the destination is known.

At inject time the destination is, in order: one set explicitly in the context with
:func:`set_destination` (our A2A instrumentation does this, it knows its peer), else the
URL or ``server.address``/``server.port`` on the current span (HTTP client
instrumentations such as httpx and requests inject inside their client span, which they
start with these attributes). Nothing known means untrusted: no identity leaves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context

__all__ = ["Destination", "TrustedPeers", "destination_of", "set_destination"]

_DESTINATION_KEY = context_api.create_key("otel_identity.destination")
_HOST = re.compile(
    r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$"
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


@dataclass(frozen=True)
class Destination:
    """Where an outgoing request goes."""

    host: str
    port: int | None = None
    url: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Destination | None:
        """Parse ``url``; ``None`` when it has no host."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:
            return None
        if not host:
            return None
        return cls(host=host, port=port, url=url)


def set_destination(url: str, context: Context | None = None) -> Context:
    """A new Context that tells the propagator where the next injection goes."""
    destination = Destination.from_url(url)
    if destination is None:
        raise ValueError(f"destination must be an absolute URL with a host, got {url!r}")
    return context_api.set_value(_DESTINATION_KEY, destination, context)


def destination_of(context: Context | None = None) -> Destination | None:
    """The destination of an injection in ``context``, or ``None`` when it cannot be known."""
    explicit = context_api.get_value(_DESTINATION_KEY, context)
    if isinstance(explicit, Destination):
        return explicit
    span = trace.get_current_span(context)
    attributes = getattr(span, "attributes", None)
    if not attributes:
        return None
    for key in ("url.full", "http.url"):
        url = attributes.get(key)
        if isinstance(url, str) and (destination := Destination.from_url(url)) is not None:
            return destination
    host = attributes.get("server.address") or attributes.get("net.peer.name")
    if isinstance(host, str) and host:
        port = attributes.get("server.port") or attributes.get("net.peer.port")
        return Destination(host=host.lower(), port=port if isinstance(port, int) else None)
    return None


@dataclass(frozen=True)
class _Rule:
    host: str
    port: int | None = None
    wildcard: bool = False
    url_prefix: str | None = None

    def matches(self, destination: Destination) -> bool:
        if self.url_prefix is not None:
            return destination.url is not None and _normal_url(destination.url).startswith(self.url_prefix)
        if self.wildcard:
            host_ok = destination.host.endswith("." + self.host)
        else:
            host_ok = destination.host == self.host
        return host_ok and (self.port is None or self.port == destination.port)


def _normal_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}:{port}{parts.path or '/'}"


def _parse_rule(entry: str) -> _Rule:
    text = entry.strip()
    if "://" in text:
        destination = Destination.from_url(text)
        if destination is None or urlsplit(text).scheme.lower() not in _DEFAULT_PORTS:
            raise ValueError(f"trusted peer {entry!r} is not an http(s) URL with a host")
        return _Rule(host=destination.host, url_prefix=_normal_url(text))
    wildcard = text.startswith("*.")
    host_port = text[2:] if wildcard else text
    host, _, port_text = host_port.rpartition(":") if ":" in host_port else (host_port, "", "")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"trusted peer {entry!r} has an invalid port {port_text!r}")
        port = int(port_text)
    if not _HOST.match(host):
        raise ValueError(f"trusted peer {entry!r} is not a host, host:port, *.domain or http(s) URL prefix")
    return _Rule(host=host.lower(), port=port, wildcard=wildcard)


class TrustedPeers:
    """A parsed list of trusted destinations; bad entries raise ``ValueError`` at construction."""

    __slots__ = ("_rules", "entries")

    def __init__(self, entries: list[str] | tuple[str, ...] | str = ()) -> None:
        if isinstance(entries, str):
            entries = [part for part in entries.split(",") if part.strip()]
        self.entries = tuple(entry.strip() for entry in entries)
        self._rules = tuple(_parse_rule(entry) for entry in self.entries)

    def trusts(self, destination: Destination | None) -> bool:
        """Whether identity may be sent to ``destination`` (never to an unknown one)."""
        return destination is not None and any(rule.matches(destination) for rule in self._rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def __repr__(self) -> str:
        return f"TrustedPeers({list(self.entries)!r})"
