"""Wrappers for the ``run`` of agent-framework's chat agents (``Agent`` and its layers).

``Agent.run`` goes through three layers, each a public class with its own ``run``:
``AgentMiddlewareLayer`` -> ``AgentTelemetryLayer`` (starts ``invoke_agent``) ->
``RawAgent`` (calls the chat client). We wrap the outermost ``run`` a call enters
(``Agent.run``, or ``AgentTelemetryLayer.run`` / ``RawAgent.run`` for agents composed
without the others): that wrapper opens the run's scopes before the framework's span
starts. Inner layers of the same call pass straight through, except ``RawAgent.run``,
which runs inside the framework's ``invoke_agent`` span: there we pick that span up as the
run span and record the result on it before the framework ends it.

A call of the same agent made while its innermost layer is already running (an agent used
as its own tool) is a new, nested run.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from inspect import isawaitable
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_identity.instrumentation import guard, linked_coroutine
from otel_identity_agent_framework._framework import framework_telemetry_enabled, stream_error
from otel_identity_agent_framework._identity import ContinuationFacts, plan_agent_run
from otel_identity_agent_framework._run import (
    RunState,
    adopt_framework_span,
    applied,
    current_state,
    finish_span,
    keep_span_until_collected,
    observe_stream,
    record_response,
    start_run_span,
)

__all__ = ["Layer", "make_run_wrapper"]


class Layer(enum.Enum):
    """Where a wrapped ``run`` sits in the agent's layers."""

    OUTER = "outer"
    """``Agent.run`` / ``AgentTelemetryLayer.run``: above the framework's span."""
    RAW = "raw"
    """``RawAgent.run``: inside the framework's span, talks to the chat client."""


Wrapped = Callable[..., Any]


def _is_response_stream(value: object) -> bool:
    from agent_framework import ResponseStream

    return isinstance(value, ResponseStream)


def _continuation_option(options: object) -> object:
    return options.get("continuation_token") if isinstance(options, Mapping) else None


def make_run_wrapper(tracer: trace.Tracer, layer: Layer) -> Callable[..., Any]:
    """A ``wrapt`` wrapper for an agent layer's ``run``."""

    def wrapper(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        state = current_state()
        if state is not None and state.agent is instance and not state.entered_raw:
            if layer is Layer.RAW:
                return _enter_raw(state, wrapped, args, kwargs)
            return wrapped(*args, **kwargs)
        return _outer(tracer, layer, wrapped, instance, args, kwargs)

    return wrapper


def _outer(
    tracer: trace.Tracer,
    layer: Layer,
    wrapped: Wrapped,
    instance: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    state: RunState | None = None
    with guard("agent_framework.run"):
        token = _continuation_option(kwargs.get("options"))
        state = RunState(
            instance,
            plan_agent_run(instance, kwargs.get("session")),
            tracer,
            expects_framework_span=layer is Layer.OUTER and framework_telemetry_enabled(),
            resumed=ContinuationFacts.from_token(token) if token is not None else None,
        )
    if state is None:
        return wrapped(*args, **kwargs)
    run_state = state

    def call() -> Any:
        if layer is Layer.RAW:
            return _enter_raw(run_state, wrapped, args, kwargs)
        return wrapped(*args, **kwargs)

    if kwargs.get("stream", False):
        return _outer_stream(run_state, call)
    return _outer_awaitable(run_state, call)


def _outer_awaitable(state: RunState, call: Callable[[], Any]) -> Any:
    with applied(state):
        result = call()
    if not isawaitable(result):
        return result
    return linked_coroutine(_await_run(state, result), result, partial(finish_span, state))


async def _await_run(state: RunState, awaitable: Awaitable[Any]) -> Any:
    if not state.expects_framework_span:
        with guard("agent_framework.start_span"):
            start_run_span(state)
    with applied(state):
        try:
            response = await awaitable
        except BaseException as error:
            finish_span(state, error)
            raise
    with guard("agent_framework.record"):
        record_response(state, getattr(response, "response_id", None), getattr(response, "continuation_token", None))
    finish_span(state)
    return response


def _outer_stream(state: RunState, call: Callable[[], Any]) -> Any:
    if not state.expects_framework_span:
        with guard("agent_framework.start_span"):
            start_run_span(state)
    with applied(state):
        try:
            result = call()
        except BaseException as error:
            finish_span(state, error)
            raise
    if not _is_response_stream(result):
        finish_span(state)
        return result
    with guard("agent_framework.stream_hooks"):
        result.with_pull_context_manager(partial(applied, state))
        if not state.entered_raw:  # else the innermost layer already observes this run's stream
            observe_stream(state, result)
        result.with_cleanup_hook(partial(_end_stream_run, state, result))
        keep_span_until_collected(result, state)
    return result


def _nothing() -> None:
    """The innermost layer starts nothing of its own that would need ending."""


def _end_stream_run(state: RunState, stream: Any) -> None:
    error: BaseException | None = None
    with guard("agent_framework.stream_error"):
        error = stream_error(stream)
    finish_span(state, error)


def _enter_raw(state: RunState, wrapped: Wrapped, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``RawAgent.run`` of the run: executes inside the framework's span (or ours)."""
    state.entered_raw = True
    if kwargs.get("stream", False):
        with guard("agent_framework.adopt_span"):
            adopt_framework_span(state)
        result = wrapped(*args, **kwargs)
        if _is_response_stream(result):
            # Registered before the telemetry layer adds its own cleanup (which ends its span).
            with guard("agent_framework.raw_stream_hooks"):
                observe_stream(state, result)
        return result
    result = wrapped(*args, **kwargs)
    if not isawaitable(result):
        return result
    return linked_coroutine(_await_raw(state, result), result, _nothing)


async def _await_raw(state: RunState, awaitable: Awaitable[Any]) -> Any:
    with guard("agent_framework.adopt_span"):
        adopt_framework_span(state)
    response = await awaitable
    with guard("agent_framework.record"):
        record_response(state, getattr(response, "response_id", None), getattr(response, "continuation_token", None))
    return response
