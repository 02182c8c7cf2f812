"""Client side: one CLIENT span per A2A call, and trace context plus trusted identity sent with it.

Patched: each ``ClientTransport`` method (see :mod:`otel_identity_a2a._methods`). The span
starts when the call starts (for streams: on the first pull, so a stream never iterated
leaves no span behind) and ends when the call returns, raises, or the stream ends, fails,
is closed or garbage-collected.

Propagation goes through a2a-sdk's own mechanism: the headers produced by the global
propagator are added to a *copy* of the call's ``ClientCallContext.service_parameters``
(HTTP headers for JSON-RPC and REST, metadata for gRPC); the caller's context object is never
changed. The injection context names the peer with :func:`otel_identity.set_destination`, so
identity baggage (``session.id``) goes only to peers the app trusts.

Why transports and not a ``ClientCallInterceptor``: interceptors are given per client when it
is created (existing clients, such as the ones ``A2AAgent`` builds, would need the app's
cooperation), run before the transport is chosen, and their ``after`` fires per stream event
with nothing marking the end of a stream, so a span could not end with its stream.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import wrapt
from a2a.client.client import ClientCallContext
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT, VERSION_HEADER
from opentelemetry import context as context_api
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.trace import SpanKind, Tracer
from opentelemetry.util.types import AttributeValue

from otel_identity import Identities, get_identities, set_conversation, set_destination, set_task
from otel_identity.instrumentation import Operation, await_operation, guard, traced_stream
from otel_identity_a2a import attributes as a2a_attr
from otel_identity_a2a._calls import call_attributes, start_operation
from otel_identity_a2a._links import TaskTraces
from otel_identity_a2a._methods import ADVANCING, CLIENT_METHODS, CLIENT_TRANSPORTS, STREAMING
from otel_identity_a2a._protocol import agent_card_attributes, interface_for, request_facts

__all__ = ["CLIENT_TASKS", "instrument_client", "uninstrument_client"]

CLIENT_TASKS: Final = TaskTraces()
"""Client spans that started or advanced each task, for links from later traces."""

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

Patched = list[tuple[type, str]]


@dataclass
class _Call:
    operation: Operation
    context: Context
    """Parent context with the client span: attached around the transport call."""
    kwargs: dict[str, Any]
    """The transport call's keyword arguments, ``context`` replaced by one carrying the headers."""


def _peer_url(transport: object, binding: str) -> str | None:
    url = getattr(transport, "url", None)
    if isinstance(url, str) and url:
        return url
    interface = interface_for(getattr(transport, "agent_card", None), None, binding)
    found = getattr(interface, "url", None)
    return found if isinstance(found, str) and found else None


def _absolute(url: str) -> str:
    """gRPC cards carry ``host:port``; give it a scheme so it parses as a URL."""
    return url if "://" in url else f"grpc://{url}"


@functools.lru_cache(maxsize=256)
def _peer_address(url: str) -> tuple[tuple[str, AttributeValue], ...]:
    """``server.address`` / ``server.port`` of ``url``, parsed once per URL (a client calls few peers, often)."""
    return tuple(_parse_peer(url).items())


def _parse_peer(url: str) -> dict[str, AttributeValue]:
    parts = urlsplit(_absolute(url))
    found: dict[str, AttributeValue] = {}
    if parts.hostname:
        found[a2a_attr.SERVER_ADDRESS] = parts.hostname
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
        if port is not None:
            found[a2a_attr.SERVER_PORT] = port
    return found


def _protocol_version(transport: object, url: str | None, binding: str) -> str | None:
    interface = interface_for(getattr(transport, "agent_card", None), url, binding)
    version = getattr(interface, "protocol_version", None)
    if isinstance(version, str) and version:
        return version
    headers = getattr(getattr(transport, "httpx_client", None), "headers", None)
    if headers is not None:
        sent = headers.get(VERSION_HEADER)
        if isinstance(sent, str) and sent:
            return sent
    return PROTOCOL_VERSION_CURRENT if binding == "GRPC" else None


def _remember(identities: Identities | None) -> Callable[[Operation, str], None]:
    def remember(operation: Operation, task_id: str) -> None:
        CLIENT_TASKS.remember(task_id, operation.span.get_span_context(), identities)

    return remember


def _headers(context: Context, url: str | None) -> dict[str, str]:
    destination = context
    if url:
        try:
            destination = set_destination(_absolute(url), context)
        except ValueError:
            destination = context
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=destination)
    return carrier


def _with_headers(existing: object, headers: dict[str, str]) -> object:
    """A copy of the caller's ``ClientCallContext`` (or a new one) whose service parameters carry ``headers``."""
    if not headers:
        return existing
    if existing is None:
        return ClientCallContext(service_parameters=headers)
    if not isinstance(existing, ClientCallContext):
        return existing
    merged = dict(existing.service_parameters or {})
    merged.update(headers)
    return existing.model_copy(update={"service_parameters": merged})


def _call_scope(context: Context, operation: Operation, context_id: str | None) -> Context:
    """The remote conversation and task the request names, for the spans under the client span."""
    if context_id is not None:
        context = set_conversation(context_id, context, remote=True)
    if operation.task is not None:
        context = set_task(operation.task, context)
    return context


def _start(
    tracer: Tracer, method: str, binding: str, transport: object, args: Any, kwargs: dict[str, Any], parent: Context
) -> _Call | None:
    operation: Operation | None = None
    url: str | None = None
    with guard("a2a client span start"):
        request = args[0] if args else kwargs.get("request")
        facts = request_facts(request)
        url = _peer_url(transport, binding)
        attributes = call_attributes(method, facts)
        if url:
            attributes.update(_peer_address(url))
        attributes.update(agent_card_attributes(getattr(transport, "agent_card", None)))
        version = _protocol_version(transport, url, binding)
        if version:
            attributes[a2a_attr.A2A_PROTOCOL_VERSION] = version
        parent_span = trace.get_current_span(parent).get_span_context()
        links = CLIENT_TASKS.links(facts.task_id, parent_span.trace_id if parent_span.is_valid else None)
        span = tracer.start_span(method, context=parent, kind=SpanKind.CLIENT, attributes=attributes, links=links)
        on_task = _remember(get_identities(parent)) if method in ADVANCING else None
        operation = start_operation(span, method, facts, on_task=on_task)
    if operation is None:
        return None
    context = trace.set_span_in_context(operation.span, parent)
    with guard("a2a client scope"):
        context = _call_scope(context, operation, facts.context_id)
    call_kwargs = dict(kwargs)
    with guard("a2a client inject"):
        call_kwargs["context"] = _with_headers(kwargs.get("context"), _headers(context, url))
    return _Call(operation, context, call_kwargs)


Wrapper = Callable[[Callable[..., Any], Any, Any, Any], Any]


def _unary(tracer: Tracer, method: str, binding: str) -> Wrapper:
    async def wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        call = _start(tracer, method, binding, instance, args, kwargs, context_api.get_current())
        if call is None:
            return await wrapped(*args, **kwargs)
        return await await_operation(call.operation, call.context, lambda: wrapped(*args, **call.kwargs))

    return wrapper


def _streaming(tracer: Tracer, method: str, binding: str) -> Wrapper:
    def wrapper(wrapped: Callable[..., AsyncIterator[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        parent = context_api.get_current()

        def begin() -> tuple[Operation | None, Context | None, Callable[[], AsyncIterator[Any]]]:
            call = _start(tracer, method, binding, instance, args, kwargs, parent)
            if call is None:
                return None, None, lambda: wrapped(*args, **kwargs)
            return call.operation, call.context, lambda: wrapped(*args, **call.kwargs)

        return traced_stream(begin)

    return wrapper


def instrument_client(tracer: Tracer) -> Patched:
    """Patch every transport that can be imported; return what was patched, for :func:`uninstrument_client`."""
    patched: Patched = []
    for module_name, class_name, binding in CLIENT_TRANSPORTS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, class_name, None)
        if not isinstance(cls, type):
            continue
        for name, method in CLIENT_METHODS.items():
            if name not in vars(cls):
                continue
            factory = _streaming if method in STREAMING else _unary
            wrapt.wrap_function_wrapper(module, f"{class_name}.{name}", factory(tracer, method, binding))
            patched.append((cls, name))
    return patched


def uninstrument_client(patched: Patched) -> None:
    """Undo :func:`instrument_client`."""
    for cls, name in patched:
        unwrap(cls, name)
    CLIENT_TASKS.clear()
