"""Server side: one SERVER span per A2A request, in the caller's trace, and the task scope around the executor.

Patched (see :mod:`otel_identity_a2a._methods` for the handler methods):

* ``RequestHandler`` methods of ``DefaultRequestHandlerV2`` and ``LegacyRequestHandler``: the
  span. a2a-sdk extracts nothing, so the caller's context is extracted here from the request
  headers the transports keep in ``ServerCallContext.state`` (``'headers'`` for JSON-RPC and
  REST, ``'grpc_context'`` metadata for gRPC) with the global propagator; otel-identity's
  propagator turns a trusted caller's ``session.id`` into the session of that context.
* the HTTP endpoints of JSON-RPC and REST (:data:`~otel_identity_a2a._methods.HTTP_ENTRY_POINTS`):
  the caller's context, extracted the same way, is attached around them, so the spans a2a-sdk's
  own tracing starts there (before any handler runs) join the caller's trace instead of
  starting an orphan one per request.
* ``ActiveTask.enqueue_request`` (v2 handler): it snapshots the request's contextvars for the
  agent executor, so the conversation and task scope are attached around it: everything the
  executor does (model calls, tools, nested A2A calls) carries ``a2a.task.id`` and
  ``gen_ai.conversation.id``. The producer and consumer asyncio tasks of an ``ActiveTask``
  keep the context of the request that started them, so nothing is scoped per task tree.
* ``ActiveTask.subscribe`` (v2): the events a request waits on, so a non-streaming
  ``SendMessage`` also records every state the task passes through.
* ``LegacyRequestHandler._run_event_stream``: the executor call of the legacy handler.
* ``BasePushNotificationSender._dispatch_notification``: one PRODUCER span per delivery, in a
  trace of its own (it is sent from a background task), linked to the requests that ran the
  task and carrying their session.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import wrapt
from a2a.utils.constants import VERSION_HEADER
from opentelemetry import context as context_api
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from otel_identity import TaskHandle, get_identities, set_conversation, set_task
from otel_identity.instrumentation import (
    Operation,
    await_in_context,
    await_operation,
    clean_id,
    guard,
    identity_attributes,
    traced_stream,
)
from otel_identity_a2a import _private
from otel_identity_a2a import attributes as a2a_attr
from otel_identity_a2a._calls import call_attributes, start_operation
from otel_identity_a2a._links import TaskTraces
from otel_identity_a2a._methods import ADVANCING, HTTP_ENTRY_POINTS, SERVER_HANDLERS, SERVER_METHODS, STREAMING
from otel_identity_a2a._protocol import agent_card_attributes, header, observe, request_facts

__all__ = ["SERVER_TASKS", "instrument_server", "uninstrument_server"]

logger = logging.getLogger("otel_identity")

SERVER_TASKS: Final = TaskTraces()
"""Server spans that started or advanced each task, for links from later traces and push notifications."""

_SERVER_CALL: Final = context_api.create_key("otel_identity_a2a.server_call")
_PUSH_FAILED: Final = "push_notification_failed"

Patched = list[tuple[type, str]]
Wrapper = Callable[[Callable[..., Any], Any, Any, Any], Any]


@dataclass
class _ServerCall:
    """The request being served, as the executor scope and the subscription observer find it."""

    operation: Operation
    method: str
    caller_session: bool
    """Whether the caller's ``session.id`` arrived (trusted); otherwise the local one is adopted."""


def _carrier(call_context: object) -> dict[str, str] | None:
    """The request's headers (HTTP) or metadata (gRPC), lowercase keys."""
    state = getattr(call_context, "state", None)
    if not isinstance(state, Mapping):
        return None
    headers = state.get("headers")
    if isinstance(headers, Mapping):
        return _header_carrier(headers)
    grpc_context = state.get("grpc_context")
    metadata = getattr(grpc_context, "invocation_metadata", None)
    if callable(metadata):
        carrier: dict[str, str] = {}
        for key, value in metadata() or ():
            carrier[str(key).lower()] = value if isinstance(value, str) else bytes(value).decode("utf-8", "replace")
        return carrier
    return None


def _header_carrier(headers: Mapping[Any, Any]) -> dict[str, str]:
    return {str(key).lower(): value for key, value in headers.items() if isinstance(value, str)}


_CARDS_USABLE: Final = all(name.usable for name in _private.AGENT_CARDS)


def _parent(carrier: Mapping[str, str] | None) -> Context:
    """The current context continued with the caller's trace and accepted identity.

    When a server span of the same trace is already current (an ASGI or gRPC server
    instrumentation extracted first), it stays the parent.
    """
    current = context_api.get_current()
    if not carrier:
        return current
    extracted = propagate.extract(carrier, context=current)
    remote = trace.get_current_span(extracted).get_span_context()
    local_span = trace.get_current_span(current)
    local = local_span.get_span_context()
    if remote.is_valid and local.is_valid and local.trace_id == remote.trace_id:
        extracted = trace.set_span_in_context(local_span, extracted)
    return extracted


def _scoped(
    context: Context, call: _ServerCall | None, context_id: str | None, task_id: str | None, *, named: bool
) -> Context:
    """``context`` with the request's conversation and task in scope, recorded on the request's span.

    ``named``: the caller named the task; otherwise the server assigned the id and the span
    gets it only once a response or event shows the task (a ``Message`` reply never does).
    """
    if context_id is not None:
        context = set_conversation(context_id, context)
        if call is not None:
            call.operation.set_conversation(context_id)
            identities = get_identities(context)
            if not call.caller_session and identities is not None:
                # No trusted caller session: the span carries the local one, like every span of the request.
                call.operation.set_session(identities.session_id)
    if task_id is not None:
        handle = call.operation.bind_task(task_id, record=named) if call is not None else TaskHandle(task_id)
        context = set_task(handle, context)
        if call is not None and call.method in ADVANCING:
            SERVER_TASKS.remember(task_id, call.operation.span.get_span_context(), get_identities(context))
    return context


def _start(
    tracer: Tracer, method: str, handler: object, args: Any, kwargs: dict[str, Any]
) -> tuple[Operation, Context] | None:
    operation: Operation | None = None
    with guard("a2a server span start"):
        request = args[0] if args else kwargs.get("params")
        call_context = args[1] if len(args) > 1 else kwargs.get("context")
        facts = request_facts(request)
        tenant = clean_id("tenant", getattr(call_context, "tenant", None) or None)
        if tenant is not None:
            facts = dataclasses.replace(facts, tenant=tenant)
        carrier = _carrier(call_context)
        parent = _parent(carrier)
        attributes = call_attributes(method, facts)
        if _CARDS_USABLE:
            attributes.update(agent_card_attributes(getattr(handler, "_agent_card", None)))
        version = header(carrier, VERSION_HEADER)
        if version is not None:
            attributes[a2a_attr.A2A_PROTOCOL_VERSION] = version
        parent_span = trace.get_current_span(parent).get_span_context()
        links = SERVER_TASKS.links(facts.task_id, parent_span.trace_id if parent_span.is_valid else None)
        span = tracer.start_span(method, context=parent, kind=SpanKind.SERVER, attributes=attributes, links=links)
        operation = start_operation(span, method, facts)
    if operation is None:
        return None
    context = trace.set_span_in_context(operation.span, parent)
    with guard("a2a server scope"):
        identities = get_identities(parent)
        call = _ServerCall(
            operation, method, caller_session=identities is not None and identities.session_id is not None
        )
        context = _scoped(context, call, facts.context_id, facts.task_id, named=True)
        context = context_api.set_value(_SERVER_CALL, call, context)
    return operation, context


def _unary(tracer: Tracer, method: str) -> Wrapper:
    async def wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        started = _start(tracer, method, instance, args, kwargs)
        if started is None:
            return await wrapped(*args, **kwargs)
        operation, context = started
        return await await_operation(operation, context, lambda: wrapped(*args, **kwargs))

    return wrapper


def _streaming(tracer: Tracer, method: str) -> Wrapper:
    def wrapper(wrapped: Callable[..., AsyncIterator[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)

        def begin() -> tuple[Operation | None, Context | None, Callable[[], AsyncIterator[Any]]]:
            started = _start(tracer, method, instance, args, kwargs)
            if started is None:
                return None, None, lambda: wrapped(*args, **kwargs)
            return started[0], started[1], lambda: wrapped(*args, **kwargs)

        return traced_stream(begin)

    return wrapper


async def _in_caller_context(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
    """Run an HTTP endpoint (``wrapped(request)``) in the caller's trace, with the caller's accepted identity.

    a2a-sdk's own tracing starts its dispatcher span here, before any request handler runs;
    without the caller's context attached that span would be the root of a trace of its own,
    without a session. The request handler's span (:func:`_start`) extracts again and keeps
    the now-current span of the same trace as its parent.
    """

    def caller_context() -> Context | None:
        request = args[0] if args else kwargs.get("request")
        headers = getattr(request, "headers", None)
        return _parent(_header_carrier(headers)) if isinstance(headers, Mapping) else None

    return await await_in_context("a2a server caller context", caller_context, wrapped, args, kwargs)


def _executor_scope(request_context: object) -> Context | None:
    """The conversation and task scope for the executor run of ``request_context`` (a ``RequestContext``)."""
    task_id = clean_id("task_id", getattr(request_context, "task_id", None))
    context_id = clean_id("context_id", getattr(request_context, "context_id", None))
    if task_id is None and context_id is None:
        return None
    call = context_api.get_value(_SERVER_CALL)
    server_call = call if isinstance(call, _ServerCall) else None
    return _scoped(context_api.get_current(), server_call, context_id, task_id, named=False)


def _in_executor_scope(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
    """Run ``wrapped(request_context, ...)`` with the request's task scope attached.

    A plain function returning the coroutine: a2a-sdk hands it to ``asyncio.create_task`` and
    tracks it by its name, which :func:`await_in_context` keeps.
    """

    def task_scope() -> Context | None:
        return _executor_scope(args[0] if args else next(iter(kwargs.values()), None))

    return await_in_context("a2a executor scope", task_scope, wrapped, args, kwargs)


def _observe_subscription(wrapped: Callable[..., AsyncIterator[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
    """Let the request's span see every event of the task it waits on."""
    call = context_api.get_value(_SERVER_CALL)
    if not isinstance(call, _ServerCall) or not is_instrumentation_enabled():
        return wrapped(*args, **kwargs)
    return _observing(call.operation, wrapped(*args, **kwargs))


async def _observing(operation: Operation, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    try:
        async for item in stream:
            operation.observe(item)
            yield item
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _push(tracer: Tracer) -> Wrapper:
    async def wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        span: trace.Span | None = None
        context: Context | None = None
        with guard("a2a push span start"):
            span, context = _start_push(tracer, *_push_arguments(args, kwargs))
        if span is None or context is None:
            return await wrapped(*args, **kwargs)
        token = context_api.attach(context)
        try:
            delivered = await wrapped(*args, **kwargs)
        except BaseException as error:
            with guard("a2a push span fail"):
                if isinstance(error, Exception) and span.is_recording():
                    span.record_exception(error)
                    span.set_attribute(a2a_attr.ERROR_TYPE, type(error).__qualname__)
                    span.set_status(Status(StatusCode.ERROR, str(error)))
            raise
        else:
            with guard("a2a push span result"):
                if delivered is False and span.is_recording():
                    span.set_attribute(a2a_attr.ERROR_TYPE, _PUSH_FAILED)
                    span.set_status(Status(StatusCode.ERROR, "push notification not delivered"))
        finally:
            context_api.detach(token)
            with guard("a2a push span end"):
                span.end()
        return delivered

    return wrapper


def _push_arguments(args: Any, kwargs: Mapping[str, Any]) -> tuple[object, object, object]:
    names = ("event", "push_info", "task_id")
    values = list(args[:3]) + [kwargs.get(name) for name in names[len(args[:3]) :]]
    return values[0], values[1], values[2]


def _start_push(tracer: Tracer, event: object, push_info: object, task_id: object) -> tuple[trace.Span, Context]:
    observed = observe(event)
    task = clean_id("task_id", task_id) or (observed.task_id if observed else None)
    scope = SERVER_TASKS.scope(task, Context()) if task is not None else Context()
    conversation = observed.conversation_id if observed is not None else None
    state = observed.state if observed is not None else None
    if conversation is not None and get_identities(scope) is None:
        scope = set_conversation(conversation, scope)
    if task is not None:
        scope = set_task(TaskHandle(task, state), scope)
    attributes = identity_attributes(conversation_id=conversation, task_id=task, task_state=state)
    url = getattr(push_info, "url", None)
    if isinstance(url, str) and url:
        parts = urlsplit(url)
        if parts.hostname:
            attributes[a2a_attr.SERVER_ADDRESS] = parts.hostname
        if parts.port:
            attributes[a2a_attr.SERVER_PORT] = parts.port
    span = tracer.start_span(
        a2a_attr.PUSH_NOTIFICATION_SPAN,
        context=scope,
        kind=SpanKind.PRODUCER,
        attributes=attributes,
        links=SERVER_TASKS.links(task, None),
    )
    return span, trace.set_span_in_context(span, scope)


def _wrap(module: Any, cls: type, name: str, wrapper: Wrapper, patched: Patched) -> None:
    if name not in vars(cls):
        logger.debug("otel-identity: %s.%s not found; not instrumented", cls.__name__, name)
        return
    wrapt.wrap_function_wrapper(module, f"{cls.__name__}.{name}", wrapper)
    patched.append((cls, name))


def _import(module_name: str, class_name: str) -> tuple[Any, type] | None:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        logger.debug("otel-identity: %s not importable; not instrumented", module_name, exc_info=True)
        return None
    cls = getattr(module, class_name, None)
    return (module, cls) if isinstance(cls, type) else None


def instrument_server(tracer: Tracer) -> Patched:
    """Patch the request handlers and the executor call sites; return what was patched."""
    patched: Patched = []
    for module_name, class_name in SERVER_HANDLERS:
        found = _import(module_name, class_name)
        if found is None:
            continue
        module, cls = found
        for name, method in SERVER_METHODS.items():
            _wrap(module, cls, name, (_streaming if method in STREAMING else _unary)(tracer, method), patched)
        if class_name == "LegacyRequestHandler" and _private.RUN_EVENT_STREAM.usable:
            _wrap(module, cls, "_run_event_stream", _in_executor_scope, patched)
    for module_name, class_name, names in HTTP_ENTRY_POINTS:
        found = _import(module_name, class_name)
        if found is not None:
            for name in names:
                _wrap(found[0], found[1], name, _in_caller_context, patched)
    found = _import("a2a.server.agent_execution.active_task", "ActiveTask")
    if found is not None:
        _wrap(found[0], found[1], "enqueue_request", _in_executor_scope, patched)
        _wrap(found[0], found[1], "subscribe", _observe_subscription, patched)
    found = _import("a2a.server.tasks.base_push_notification_sender", "BasePushNotificationSender")
    if found is not None and _private.DISPATCH_NOTIFICATION.usable:
        _wrap(found[0], found[1], "_dispatch_notification", _push(tracer), patched)
    return patched


def uninstrument_server(patched: Patched) -> None:
    """Undo :func:`instrument_server`."""
    for cls, name in patched:
        unwrap(cls, name)
    SERVER_TASKS.clear()
