"""Server side: each AG-UI request's thread and run in scope for everything the request runs.

``add_agent_framework_fastapi_endpoint`` iterates ``AgentFrameworkAgent.run(input_data)`` or
``AgentFrameworkWorkflow.run(input_data)`` once per request (also in a detached run's
producer task). Both are wrapped: the request's ``thread_id`` becomes the conversation
(``set_conversation``: ``gen_ai.conversation.id``, and ``session.id`` unless a session is
already in scope, such as a trusted caller's accepted ``session.id``) and its ``run_id`` the
run (``set_run``: ``otel_identity.run.id``). The stream is bound per pull
(``bind_async_iterable``), so every span the agent or workflow starts while producing an event
carries them, and nothing is left behind between pulls. Values that are not ids
(:func:`~otel_identity.instrumentation.clean_id`) are not used.

The HTTP SERVER span of the request (started by an ASGI / FastAPI instrumentation before the
body, and so the thread, is known) gets the same identities once the run starts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Final

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.trace import SpanKind

from otel_identity import IdentitySpanProcessor, bind_async_iterable, record_nested_run, set_conversation, set_run
from otel_identity.instrumentation import clean_id, guard

__all__ = ["clean_telemetry_conversation", "request_ids", "run_wrapper"]

logger = logging.getLogger("otel_identity")

_THREAD_KEYS: Final = ("thread_id", "threadId")
_RUN_KEYS: Final = ("run_id", "runId")
_PARENT_RUN_KEYS: Final = ("parent_run_id", "parentRunId")

_REQUEST_SPAN_STAMPER: Final = IdentitySpanProcessor()
"""Stamps the request's HTTP server span with the scope's identities, by the core's rules.

Interim: the core has no public "record the identities of a scope on a span that started
before the scope" yet; the processor's ``on_start`` is exactly that rule (skips attributes
the span already has), so this package never writes an identity attribute itself.
"""


def _first(data: Mapping[Any, Any], keys: tuple[str, ...]) -> object:
    for key in keys:
        value = data.get(key)
        if value:
            return value
    return None


def request_ids(input_data: object) -> tuple[str | None, str | None]:
    """The request's ``(thread_id, run_id)`` as the framework reads them, each ``None`` unless a valid id."""
    if not isinstance(input_data, Mapping):
        return None, None
    return (
        clean_id("thread_id", _first(input_data, _THREAD_KEYS)),
        clean_id("run_id", _first(input_data, _RUN_KEYS)),
    )


def _request_context(args: Any, kwargs: Mapping[str, Any]) -> Context | None:
    """The current context with the request's thread and run in scope; ``None`` when it names neither."""
    input_data = args[0] if args else kwargs.get("input_data")
    if not isinstance(input_data, Mapping):
        return None
    thread_id, run_id = request_ids(input_data)
    if thread_id is None and run_id is None:
        return None
    context = context_api.get_current()
    if thread_id is not None:
        context = set_conversation(thread_id, context)
    if run_id is not None:
        context = set_run(run_id, context=context)
    _stamp_request_span(context, input_data)
    return context


def _stamp_request_span(context: Context, input_data: Mapping[Any, Any]) -> None:
    """Give the request's HTTP server span (the current span, if it is one) the identities of ``context``.

    The request is the AG-UI run, so its ``parentRunId`` (the run that spawned it) is recorded
    there too, as the run it is nested in.
    """
    span = trace.get_current_span(context)
    if isinstance(span, SdkSpan) and span.kind is SpanKind.SERVER and span.is_recording():
        _REQUEST_SPAN_STAMPER.on_start(span, context)
        parent_run_id = _first(input_data, _PARENT_RUN_KEYS)
        if parent_run_id is not None:
            record_nested_run(span, parent_run_id=parent_run_id)


def run_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wrapper of ``AgentFrameworkAgent.run`` / ``AgentFrameworkWorkflow.run`` (async generators)."""
    if not is_instrumentation_enabled():
        return wrapped(*args, **kwargs)
    context: Context | None = None
    with guard("ag_ui run scope"):
        context = _request_context(args, kwargs)
    stream = wrapped(*args, **kwargs)
    if context is None:
        return stream
    bound: AsyncIterator[Any] = bind_async_iterable(stream, context)
    return bound


def clean_telemetry_conversation(
    wrapped: Callable[..., AbstractContextManager[None]], instance: Any, args: Any, kwargs: Any
) -> AbstractContextManager[None]:
    """Wrapper of agent-framework-ag-ui's ``_use_telemetry_conversation_id(conversation_id)``.

    A thread id that is not an id is not handed to the framework's telemetry (``None``
    leaves its context variable as it was); a valid one passes unchanged.
    """
    value = args[0] if args else kwargs.get("conversation_id")
    if value is not None:
        cleaned: object = value
        with guard("ag_ui telemetry conversation"):
            cleaned = clean_id("thread_id", value)
        if cleaned is None:
            return wrapped(None)
    return wrapped(*args, **kwargs)
