"""The caller's context around an AG-UI route when no ASGI server instrumentation extracted it.

An ASGI / FastAPI server instrumentation extracts the caller's trace context and baggage with
the global propagator before the app runs; then nothing is done here. Without one, nobody
does, and the agent's spans would start a trace of their own with no caller identity. So
``add_agent_framework_fastapi_endpoint`` is wrapped: the routes it adds get an ASGI wrapper
that, only when no span is current, extracts from the request headers with the global
propagator (otel-identity's validates a caller's ``session.id`` and ``accept_inbound``
decides) and attaches that context around the route (``await_in_context``: the route's call
outside any telemetry ``try``, the context always detached).

Routes keep the wrapper they were built with; after ``uninstrument()`` it passes through.
Only routes added after ``instrument()`` get it (as with a2a-sdk's routes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import propagate, trace
from opentelemetry.context import Context

from otel_identity.instrumentation import await_in_context, guard

__all__ = ["add_endpoint_wrapper", "set_enabled"]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

_enabled = False


def set_enabled(enabled: bool) -> None:
    """Turn the route wrappers on (``instrument()``) or into pass-throughs (``uninstrument()``)."""
    global _enabled
    _enabled = enabled


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in scope.get("headers") or ():
        name = bytes(key).decode("latin-1").lower()
        text = bytes(value).decode("latin-1")
        headers[name] = f"{headers[name]},{text}" if name in headers else text
    return headers


def _caller_context(scope: Scope) -> Context | None:
    if scope.get("type") != "http" or trace.get_current_span().get_span_context().is_valid:
        return None  # a server instrumentation already continued the caller's trace
    headers = _headers(scope)
    if "traceparent" not in headers and "baggage" not in headers:
        return None
    return propagate.extract(headers, context=context_api.get_current())


class _CallerContextApp:
    """ASGI wrapper of one AG-UI route's app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not _enabled:
            await self.app(scope, receive, send)
            return
        await await_in_context(
            "ag_ui caller context", lambda: _caller_context(scope), self.app, (scope, receive, send), {}
        )


def add_endpoint_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wrapper of ``add_agent_framework_fastapi_endpoint(app, agent, path, ...)``."""
    app = args[0] if args else kwargs.get("app")
    router = getattr(app, "router", None)
    before: list[Any] = list(getattr(router, "routes", None) or ())
    result = wrapped(*args, **kwargs)
    with guard("ag_ui endpoint routes"):
        known = {id(route) for route in before}
        for route in getattr(router, "routes", None) or ():
            route_app = getattr(route, "app", None)
            if id(route) not in known and callable(route_app) and not isinstance(route_app, _CallerContextApp):
                route.app = _CallerContextApp(route_app)
    return result
