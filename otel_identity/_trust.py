"""Which destinations may receive identity baggage, and how the destination is known.

Trusted destinations are configuration (``OTEL_IDENTITY_TRUSTED_PEERS`` or
``configure(trusted_peers=...)``), parsed once by :class:`TrustedPeers`. Each entry is one of:

* a host: ``agents.internal``, ``127.0.0.1``, ``[::1]`` (any port);
* ``host:port``: ``127.0.0.1:9001`` (that port only);
* a domain wildcard: ``*.agents.internal`` (sub-domains only, not ``agents.internal`` itself),
  optionally with a port;
* an http(s) URL prefix: ``https://agents.example.com/a2a/`` (scheme, host, port and path
  prefix; the prefix ends at a path segment, so ``/a2a`` does not match ``/a2a-admin``).

A bad entry raises ``ValueError`` naming it: a typo must not silently trust the wrong host.

At inject time the destination comes from two places:

1. one set explicitly in the injection's context with :func:`set_destination` (our A2A
   instrumentation does this: it knows its peer);
2. the current span, when it is a CLIENT span that names its peer: ``url.full`` or
   ``http.url``, else ``server.address``/``server.port`` (``net.peer.name``/``net.peer.port``).
   HTTP client instrumentations inject inside their CLIENT span and set these attributes when
   they start it: checked for opentelemetry-instrumentation-httpx and -requests 0.66b2, in both
   the old and the stable HTTP semantic conventions. Spans of any other kind never count: a
   SERVER span's ``http.url`` is the incoming request, not where an injection goes.

When both are known they must name the same host (and port, when both have one), else the
destination is unknown: an explicit destination attached around code that then calls some
other host (a model API) must not make that call look trusted. When they agree, the more
precise one is used (a URL, so URL-prefix rules can match).

Nothing known means untrusted: no identity leaves. That includes requests whose client span
is not recording (sampled out, or no SDK): its attributes are not kept, so plain HTTP
requests outside the sample carry no identity. Name the destination with
:func:`set_destination` where identity must cross regardless of sampling.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Final
from urllib.parse import SplitResult, urlsplit

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

__all__ = ["Destination", "TrustedPeers", "destination_of", "set_destination", "set_local_destination"]

_DESTINATION_KEY = context_api.create_key("otel_identity.destination")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST: Final = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_URL_SCHEMES: Final = ("http", "https")
_URL_KEYS: Final = ("url.full", "http.url")
_HOST_KEYS: Final = (("server.address", "server.port"), ("net.peer.name", "net.peer.port"))


def _normal_host(host: str) -> str:
    """Lower case, no trailing dot, IPv6 in compressed form (the form the rules are kept in)."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0]).compressed
        except ValueError:
            return host
    return host


def _normal_path(path: str) -> str:
    """``path`` with dot segments resolved, always absolute; a trailing slash is kept."""
    if not path:
        return "/"
    resolved = posixpath.normpath(path)
    if resolved.startswith("//"):
        resolved = "/" + resolved.lstrip("/")
    if path.endswith("/") and not resolved.endswith("/"):
        resolved += "/"
    return resolved


@dataclass(frozen=True)
class Destination:
    """Where an outgoing request goes: host, port when known, and the URL when known."""

    host: str
    port: int | None = None
    url: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Destination | None:
        """Parse ``url``; ``None`` when it has no host or is malformed. Cached: it runs per request."""
        return _parse_url(url) if isinstance(url, str) else None

    @cached_property
    def normal_url(self) -> str | None:
        """``scheme://host:port/path`` with defaults filled in, for URL-prefix rules; ``None`` without a URL."""
        if self.url is None:
            return None
        try:
            return _normal_url(urlsplit(self.url))
        except (ValueError, TypeError):
            return None

    def agrees_with(self, other: Destination) -> bool:
        """Same host, and same port when both know theirs."""
        return self.host == other.host and (self.port is None or other.port is None or self.port == other.port)


@lru_cache(maxsize=1024)
def _parse_url(url: str) -> Destination | None:
    try:
        parts = urlsplit(url)
        host = _normal_host(parts.hostname or "")
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except (ValueError, TypeError, AttributeError):
        return None
    if not host:
        return None
    return Destination(host=host, port=port, url=url)


def _normal_url(parts: SplitResult) -> str:
    scheme = parts.scheme.lower()
    host = _normal_host(parts.hostname or "")
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}{_normal_path(parts.path)}"


def set_destination(url: str, context: Context | None = None) -> Context:
    """A new Context that tells the propagator where the next injection goes.

    Use it for the one injection of a request whose peer you know (``propagate.inject(headers,
    context=set_destination(url))``), or attach it around a call that injects without an HTTP
    client span of its own (an MCP tool call's ``_meta``). Raises ``ValueError`` when ``url``
    is not an absolute URL with a host.
    """
    destination = Destination.from_url(url) if isinstance(url, str) else None
    if destination is None:
        raise ValueError(f"destination must be an absolute URL with a host, got {url!r}")
    return context_api.set_value(_DESTINATION_KEY, destination, context)


_LOCAL: Final = "local"
"""Stored as the destination where injections stay in this process (see :func:`set_local_destination`)."""


def set_local_destination(context: Context | None = None) -> Context:
    """A new Context in which injections stay in this process: no identity goes, whatever encloses it.

    For carriers that are not requests to a peer (workflow messages kept in checkpoints, an
    in-process queue): it overrides a destination named around the call, and a CLIENT span's.
    """
    return context_api.set_value(_DESTINATION_KEY, _LOCAL, context)


def _span_destination(context: Context | None) -> Destination | None:
    """The peer named by the current span when it is a CLIENT span; ``None`` otherwise."""
    span = trace.get_current_span(context)
    if getattr(span, "kind", None) is not SpanKind.CLIENT:
        return None
    attributes = getattr(span, "attributes", None)
    if not isinstance(attributes, Mapping) or not attributes:
        return None
    for key in _URL_KEYS:
        url = attributes.get(key)
        if isinstance(url, str) and url and (destination := Destination.from_url(url)) is not None:
            return destination
    for host_key, port_key in _HOST_KEYS:
        host = attributes.get(host_key)
        if isinstance(host, str) and host.strip():
            port = attributes.get(port_key)
            return Destination(host=_normal_host(host), port=port if type(port) is int else None)
    return None


def destination_of(context: Context | None = None) -> Destination | None:
    """The destination of an injection in ``context``, or ``None`` when it cannot be known."""
    explicit = context_api.get_value(_DESTINATION_KEY, context)
    if explicit is _LOCAL:
        return None
    if not isinstance(explicit, Destination):
        explicit = None
    from_span = _span_destination(context)
    if explicit is None or from_span is None:
        return explicit or from_span
    if not explicit.agrees_with(from_span):
        return None
    if from_span.url is not None:
        return from_span
    if explicit.url is not None or explicit.port is not None:
        return explicit
    return from_span


@dataclass(frozen=True)
class _Rule:
    host: str
    port: int | None = None
    wildcard: bool = False
    url_prefix: str | None = None

    def matches(self, destination: Destination) -> bool:
        if self.url_prefix is not None:
            # Kept without a trailing slash: the prefix ends at a path segment boundary.
            url = destination.normal_url
            return url is not None and (url == self.url_prefix or url.startswith(self.url_prefix + "/"))
        host_ok = destination.host.endswith("." + self.host) if self.wildcard else destination.host == self.host
        return host_ok and (self.port is None or self.port == destination.port)


def _bad(entry: object, why: str) -> ValueError:
    return ValueError(
        f"trusted peer {entry!r} {why}; expected a host, host:port, *.domain or http(s) URL prefix "
        "(e.g. 'agents.internal', '127.0.0.1:9001', '*.agents.internal', 'https://agents.example.com/a2a/')"
    )


def _parse_port(entry: str, port_text: str) -> int:
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _bad(entry, f"has an invalid port {port_text!r}")
    return int(port_text)


def _parse_url_rule(entry: str, text: str) -> _Rule:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        raise _bad(entry, f"is not a valid URL ({error})") from None
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname:
        raise _bad(entry, "is not an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise _bad(entry, "must not contain credentials")
    if parts.query or parts.fragment:
        raise _bad(entry, "must not contain a query or fragment")
    host = _normal_host(parts.hostname)
    _check_host(entry, host)
    return _Rule(host=host, url_prefix=_normal_url(parts).rstrip("/"))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_host(entry: str, host: str) -> None:
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _bad(entry, f"has an invalid IPv6 address {host!r}") from None
        return
    if not _HOST.match(host) or len(host) > 253:
        raise _bad(entry, f"has an invalid host {host!r}")


def _parse_rule(entry: object) -> _Rule:
    if not isinstance(entry, str):
        raise ValueError(f"trusted peer entries must be str, got {type(entry).__name__} {entry!r}")
    text = entry.strip()
    if not text:
        raise _bad(entry, "is empty")
    if "://" in text:
        return _parse_url_rule(entry, text)
    if any(char in text for char in "/?#@ \t"):
        raise _bad(entry, "is not a host (a path, query or credentials need an http(s) URL prefix)")
    wildcard = text.startswith("*.")
    rest = text[2:] if wildcard else text
    port: int | None = None
    if rest.startswith("["):
        host, closing, tail = rest[1:].partition("]")
        if not closing or (tail and not tail.startswith(":")):
            raise _bad(entry, "has a malformed [IPv6] address")
        if tail:
            port = _parse_port(entry, tail[1:])
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        port = _parse_port(entry, port_text)
    elif ":" in rest:
        raise _bad(entry, "has an IPv6 address without [brackets]")
    else:
        host = rest
    host = _normal_host(host)
    if not host:
        raise _bad(entry, "has no host")
    _check_host(entry, host)
    if wildcard and _is_ip(host):
        raise _bad(entry, "is a wildcard over an IP address")
    return _Rule(host=host, port=port, wildcard=wildcard)


class TrustedPeers:
    """A parsed list of trusted destinations; bad entries raise ``ValueError`` at construction.

    ``entries``: an iterable of entries, or one comma-separated string (the environment
    variable's form, where empty items are ignored).
    """

    __slots__ = ("_decisions", "_rules", "entries")

    _MAX_DECISIONS: Final = 1024
    """Trust decisions remembered per destination (they run per request); forgotten all at once when full."""

    def __init__(self, entries: Iterable[str] | str = ()) -> None:
        if isinstance(entries, str):
            items: list[object] = [part.strip() for part in entries.split(",") if part.strip()]
        else:
            try:
                items = list(entries)
            except TypeError:
                raise ValueError(
                    f"trusted peers must be a str or an iterable of str, got {type(entries).__name__}"
                ) from None
        self._rules = tuple(_parse_rule(item) for item in items)
        self.entries: tuple[str, ...] = tuple(str(item).strip() for item in items)
        self._decisions: dict[Destination, bool] = {}

    def trusts(self, destination: Destination | None) -> bool:
        """Whether identity may be sent to ``destination`` (never to an unknown one)."""
        if destination is None or not self._rules:
            return False
        decision = self._decisions.get(destination)
        if decision is None:
            decision = any(rule.matches(destination) for rule in self._rules)
            if len(self._decisions) >= self._MAX_DECISIONS:
                self._decisions.clear()
            self._decisions[destination] = decision
        return decision

    def __bool__(self) -> bool:
        return bool(self._rules)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrustedPeers) and self._rules == other._rules

    def __hash__(self) -> int:
        return hash(self._rules)

    def __repr__(self) -> str:
        return f"TrustedPeers({list(self.entries)!r})"
