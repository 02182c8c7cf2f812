"""Client side: one CLIENT span per AG-UI run an ``AGUIChatClient`` streams from a remote endpoint.

Wrapped: ``AGUIHttpService.post_run(thread_id, run_id, ...)``, which every ``AGUIChatClient``
call uses to POST the ``RunAgentInput`` and read the Server-Sent Events. The span follows the
GenAI conventions for a remote agent: ``invoke_agent`` (kind CLIENT), ``gen_ai.operation.name``
``invoke_agent``, ``gen_ai.provider.name`` ``agui`` (agent-framework's own provider name for
AG-UI), ``server.address`` / ``server.port`` of the endpoint. It and every span under it (the
HTTP client span of the POST) run with the remote thread as the conversation
(``set_conversation``: ``gen_ai.conversation.id``; also ``session.id`` when the caller has no
session in scope: an AG-UI thread is client-owned) and the request's ``run_id`` as the run
(``set_run``), nested in the caller's run if one is in scope (``otel_identity.run.parent.id``).
The caller's ``session.id`` reaches the endpoint only if it is trusted, through
the HTTP client instrumentation and otel-identity's propagator, like any HTTP call.

Status: ERROR with ``error.type`` when the stream raised (the exception's class) or the
server reported ``RUN_ERROR`` (its ``code``, else ``RUN_ERROR``). The span ends when the
stream ends, fails or is closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GenAiOperationNameValues,
)
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from otel_identity import bind_async_iterable, get_identities, record_nested_run, set_conversation, set_run
from otel_identity.instrumentation import clean_id, guard

__all__ = ["PROVIDER_NAME", "post_run_wrapper"]

PROVIDER_NAME: Final = "agui"
"""``AGUIChatClient.OTEL_PROVIDER_NAME`` in agent-framework-ag-ui 1.7.0."""

INVOKE_AGENT: Final = GenAiOperationNameValues.INVOKE_AGENT.value
_RUN_ERROR: Final = "RUN_ERROR"
_POST_RUN_PARAMETERS: Final = ("thread_id", "run_id")


def _argument(args: Any, kwargs: Mapping[str, Any], index: int) -> object:
    return args[index] if len(args) > index else kwargs.get(_POST_RUN_PARAMETERS[index])


def _endpoint_attributes(service: object) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        GEN_AI_OPERATION_NAME: INVOKE_AGENT,
        GEN_AI_PROVIDER_NAME: PROVIDER_NAME,
    }
    endpoint = getattr(service, "endpoint", None)
    if isinstance(endpoint, str) and endpoint:
        parts = urlsplit(endpoint)
        if parts.hostname:
            attributes[SERVER_ADDRESS] = parts.hostname
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        if port:
            attributes[SERVER_PORT] = port
    return attributes


def _start(tracer: Tracer, service: object, args: Any, kwargs: Mapping[str, Any]) -> tuple[trace.Span, Context]:
    context = context_api.get_current()
    outer = get_identities(context)
    thread_id = clean_id("thread_id", _argument(args, kwargs, 0))
    run_id = clean_id("run_id", _argument(args, kwargs, 1))
    if thread_id is not None:
        context = set_conversation(thread_id, context)
    if run_id is not None:
        context = set_run(run_id, context=context)
    span = tracer.start_span(
        INVOKE_AGENT, context=context, kind=SpanKind.CLIENT, attributes=_endpoint_attributes(service)
    )
    if run_id is not None and outer is not None and outer.run_id is not None:
        record_nested_run(span, parent_run_id=outer.run_id)  # the remote run is nested in the caller's
    return span, trace.set_span_in_context(span, context)


def _fail(span: trace.Span, error_type: str, description: str | None = None) -> None:
    if span.is_recording():
        span.set_attribute(ERROR_TYPE, error_type)
        span.set_status(Status(StatusCode.ERROR, description))


def _observe(span: trace.Span, event: object) -> None:
    if isinstance(event, Mapping) and str(event.get("type", "")).upper() == _RUN_ERROR:
        code = event.get("code")
        _fail(span, code if isinstance(code, str) and clean_id("code", code) else _RUN_ERROR)


async def _traced(
    tracer: Tracer, service: object, wrapped: Callable[..., AsyncIterable[Any]], args: Any, kwargs: Any
) -> AsyncIterator[Any]:
    """``wrapped(*args, **kwargs)`` traced; the span starts at the first pull, so an unread stream leaves none open."""
    started: tuple[trace.Span, Context] | None = None
    with guard("ag_ui client span start"):
        started = _start(tracer, service, args, kwargs)
    events = wrapped(*args, **kwargs)
    if started is None:
        async for event in bind_async_iterable(events, context_api.get_current()):  # closes ``events`` when closed
            yield event
        return
    span, context = started
    try:
        async for event in bind_async_iterable(events, context):
            with guard("ag_ui client observe"):
                _observe(span, event)
            yield event
    except Exception as error:
        with guard("ag_ui client fail"):
            _fail(span, type(error).__qualname__, str(error))
        raise
    finally:
        with guard("ag_ui client end"):
            span.end()


def post_run_wrapper(tracer: Tracer) -> Callable[[Callable[..., Any], Any, Any, Any], Any]:
    """Wrapper of ``AGUIHttpService.post_run`` (an async generator function)."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        return _traced(tracer, instance, wrapped, args, kwargs)

    return wrapper
