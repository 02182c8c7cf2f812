"""agent-framework workflows: each ``workflow.run`` is a run, ``WorkflowAgent`` gets a run span, unfinished work marked.

Checked with agent-framework-core 1.23.0 and agent-framework-orchestrations 1.4.0 (whose
builders, Sequential, Concurrent, Handoff, GroupChat and Magentic, build plain ``Workflow``
objects and have no telemetry of their own).

``Workflow.run`` (awaited, or ``stream=True``)
    A run: a fresh ``otel_identity.run.id`` in scope, with the session and conversation
    already in scope kept (the app's ``session_scope``, or the run that called it). The scope
    is attached around the awaited run, or around each pull of the stream, so every span of
    the run carries it: ``workflow.run``, ``executor.process``, ``message.send``,
    ``edge_group.process``, the participants' ``invoke_agent``, ``chat`` and ``execute_tool``
    spans, and work the framework runs in other asyncio tasks (each superstep and each
    fan-out branch is a task created inside the attached scope, so it inherits it). The
    run span is the framework's ``workflow.run`` span; with the framework's instrumentation
    off, a ``workflow.run`` span of ours with the same attributes. A ``workflow.run`` nested
    in another run (a sub-workflow run by a ``WorkflowExecutor``, a workflow inside an agent's
    tool) is a nested run.
``WorkflowAgent.run`` (``workflow.as_agent(...)``)
    ``WorkflowAgent`` extends ``BaseAgent`` without the telemetry layer, so the framework has
    no span for it: it is run like an agent composed without that layer, with an
    ``invoke_agent {name}`` run span of ours and its ``AgentSession`` as the session. The
    ``workflow.run`` calls it makes for that run are part of the same run (same run id; the
    markers below go on the ``invoke_agent`` span).
Unfinished work (recorded by the core's :func:`otel_identity.record_pending_requests` and
:func:`otel_identity.record_checkpoint`)
    The run span of a run given ``responses=`` lists their ids as
    ``otel_identity.workflow.pending_requests.answered``; a run that raised requests for
    information during its supersteps lists those it left pending as
    ``otel_identity.workflow.pending_requests.issued`` (requests a checkpoint restore brings
    back are re-emitted before the first superstep and are not counted as issued again); a
    run given ``checkpoint_id=`` is marked ``otel_identity.workflow.checkpoint.resumed`` with
    ``otel_identity.workflow.checkpoint.id``.

Checkpoints
    agent-framework injects the global propagator into every message an executor sends
    (``WorkflowContext.send_message``), and checkpoints store those messages. The injection
    has no network destination, so otel-identity's propagator sends no identity, unless a
    destination the app named (``destination_scope``) is in scope around the workflow: around
    ``send_message`` the core's local destination (``otel_identity.set_local_destination``)
    overrides it, so checkpoint data never holds identity baggage. (Other libraries' baggage is left alone.)

Private names: :mod:`otel_identity_agent_framework._workflow_private` (agent-framework-core
1.23 to <2, each with a public fallback).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from inspect import isawaitable
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind

from otel_identity import record_checkpoint, record_pending_requests, set_local_destination
from otel_identity.instrumentation import await_in_context, clean_id, guard, linked_coroutine, plan_run, record_run
from otel_identity_agent_framework import _workflow_private as private
from otel_identity_agent_framework._agents import Layer, make_run_wrapper
from otel_identity_agent_framework._framework import framework_telemetry_enabled, stream_error
from otel_identity_agent_framework._run import (
    RunState,
    applied,
    current_state,
    finish_span,
    keep_span_until_collected,
)

__all__ = ["instrument_workflows", "make_workflow_run_wrapper"]

_LEDGER: Final = "workflow.ledger"
"""Key in :attr:`RunState.extra`: the run's :class:`_Ledger`."""

Wrapped = Callable[..., Any]
Wrap = Callable[[object, str, Any], None]


class _Ledger:
    """The unfinished work one run touched: requests answered, requests issued, checkpoint resumed."""

    __slots__ = ("answered", "issued")

    def __init__(self) -> None:
        self.answered: dict[str, None] = {}
        self.issued: dict[str, None] = {}

    def pending(self) -> list[str]:
        return [request_id for request_id in self.issued if request_id not in self.answered]


class _WorkflowCall:
    """What one ``workflow.run`` call does: its run (its own, or the ``WorkflowAgent`` run it serves)."""

    __slots__ = ("checkpoint_id", "in_superstep", "joined", "responses", "state", "workflow_id")

    def __init__(self, state: RunState, workflow: object, kwargs: Mapping[str, Any], *, joined: bool) -> None:
        self.state = state
        self.joined = joined
        """The call serves the enclosing ``WorkflowAgent`` run: no run of its own."""
        self.workflow_id = getattr(workflow, "id", None)
        responses = kwargs.get("responses")
        self.responses = list(responses) if isinstance(responses, Mapping) else []
        self.checkpoint_id = kwargs.get("checkpoint_id")
        self.in_superstep = False

    @property
    def ledger(self) -> _Ledger:
        ledger = self.state.extra.get(_LEDGER)
        if not isinstance(ledger, _Ledger):
            ledger = self.state.extra[_LEDGER] = _Ledger()
        return ledger

    def record_start(self) -> None:
        """Write what the call brings to its run span: answered requests, a resumed checkpoint, its nesting."""
        span = self.state.run_span
        if span is None:
            return
        if not self.joined:
            record_run(span, self.state.plan)  # the run it is nested in, when it is
        ledger = self.ledger
        for request_id in self.responses:
            if (cleaned := clean_id("pending_request_id", request_id)) is not None:
                ledger.answered[cleaned] = None
        if ledger.answered:
            record_pending_requests(span, answered=ledger.answered)
        if self.checkpoint_id is not None:
            record_checkpoint(span, checkpoint_id=self.checkpoint_id, resumed=True)

    def observe(self, event: Any) -> None:
        """Update transform hook (returns ``None``: the event is unchanged): note requests the run issues."""
        with guard("agent_framework.workflow_event"):
            kind = getattr(event, "type", None)
            if kind == "superstep_started":
                self.in_superstep = True
            elif kind == "request_info" and self.in_superstep:
                request_id = clean_id("pending_request_id", getattr(event, "request_id", None))
                if request_id is not None:
                    self.issued([request_id])

    def issued(self, request_ids: list[str]) -> None:
        ledger = self.ledger
        before = len(ledger.issued)
        ledger.issued.update(dict.fromkeys(request_ids))
        span = self.state.run_span
        if span is not None and len(ledger.issued) != before:
            record_pending_requests(span, issued=ledger.pending())


def _current_call(workflow: Any, kwargs: Mapping[str, Any], tracer: trace.Tracer) -> _WorkflowCall:
    enclosing = current_state()
    if enclosing is not None and getattr(enclosing.agent, "workflow", None) is workflow:
        return _WorkflowCall(enclosing, workflow, kwargs, joined=True)  # a WorkflowAgent run's own workflow
    plan = plan_run()  # a run with no session of its own: the session and conversation in scope stay
    state = RunState(workflow, plan, tracer, expects_framework_span=framework_telemetry_enabled())
    call = _WorkflowCall(state, workflow, kwargs, joined=False)
    state.extra[_CALL] = call
    return call


_CALL: Final = "workflow.call"
"""Key in :attr:`RunState.extra` of a workflow's own run: its :class:`_WorkflowCall`."""


def _start_own_span(call: _WorkflowCall, workflow: Any) -> None:
    """With the framework's instrumentation off: our ``workflow.run`` span is the run span."""
    from agent_framework.observability import OtelAttr

    state = call.state
    attributes: dict[str, str] = {}
    for key, value in (
        (OtelAttr.WORKFLOW_ID, call.workflow_id),
        (OtelAttr.WORKFLOW_NAME, getattr(workflow, "name", None)),
        (OtelAttr.WORKFLOW_DESCRIPTION, getattr(workflow, "description", None)),
    ):
        if isinstance(value, str) and value:
            attributes[str(key)] = value
    with applied(state):  # started inside the run's scope, like the framework's span
        span = state.tracer.start_span(str(OtelAttr.WORKFLOW_RUN_SPAN), kind=SpanKind.INTERNAL, attributes=attributes)
    state.own_run_span(span)
    call.record_start()


def make_workflow_run_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    """A ``wrapt`` wrapper for ``Workflow.run``."""

    def wrapper(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        call: _WorkflowCall | None = None
        with guard("agent_framework.workflow_run"):
            call = _current_call(instance, kwargs, tracer)
        result = wrapped(*args, **kwargs)  # validation errors and concurrent-run refusals pass through, no span
        if call is None:
            return result
        if call.joined:
            with guard("agent_framework.workflow_joined"):
                call.record_start()
                _observe(call, instance, result)
            return _await_joined(call, result) if isawaitable(result) and not _is_stream(result) else result
        with guard("agent_framework.workflow_start"):
            if not call.state.expects_framework_span:
                _start_own_span(call, instance)
        if _is_stream(result):
            with guard("agent_framework.workflow_stream_hooks"):
                result.with_pull_context_manager(partial(applied, call.state))
                result.with_transform_hook(call.observe)
                result.with_cleanup_hook(partial(_end_stream, call.state, result))
                keep_span_until_collected(result, call.state)
            return result
        if not isawaitable(result):
            finish_span(call.state)
            return result
        with guard("agent_framework.workflow_observe"):
            _observe(call, instance, result)
        return linked_coroutine(_await_run(call, result), result, partial(finish_span, call.state))

    return wrapper


def _is_stream(value: object) -> bool:
    from agent_framework import ResponseStream

    return isinstance(value, ResponseStream)


def _observe(call: _WorkflowCall, workflow: Any, result: object) -> None:
    """Watch the run's events: its stream, or for an awaited run the stream behind the awaitable."""
    stream: Any = result if _is_stream(result) else None
    if stream is None and _ACTIVE_RUN:
        reference = getattr(workflow, "_active_run", None)
        stream = reference() if callable(reference) else None
    if stream is not None and _is_stream(stream):
        stream.with_transform_hook(call.observe)
        call.state.extra[_OBSERVED] = True


_OBSERVED: Final = "workflow.observed"
"""Key in :attr:`RunState.extra`: the run's events are watched as they pass."""


def _record_result(call: _WorkflowCall, result: object) -> None:
    """Fallback for awaited runs whose events could not be watched: the requests the result left pending."""
    if call.state.extra.get(_OBSERVED):
        return
    events = getattr(result, "get_request_info_events", None)
    if not callable(events):
        return
    ids = [request_id for event in events() if (request_id := clean_id("pending_request_id", event.request_id))]
    if ids:
        call.issued(ids)


async def _await_run(call: _WorkflowCall, awaitable: Awaitable[Any]) -> Any:
    state = call.state
    with applied(state):
        try:
            result = await awaitable
        except BaseException as error:
            finish_span(state, error)
            raise
    with guard("agent_framework.workflow_result"):
        _record_result(call, result)
    finish_span(state)
    return result


async def _await_joined(call: _WorkflowCall, awaitable: Awaitable[Any]) -> Any:
    result = await awaitable
    with guard("agent_framework.workflow_result"):
        _record_result(call, result)
    return result


def _end_stream(state: RunState, stream: Any) -> None:
    error: BaseException | None = None
    with guard("agent_framework.workflow_stream_error"):
        error = stream_error(stream)
    finish_span(state, error)


def _adopt_wrapper(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wrapper for the framework's ``start_workflow_span``: its ``workflow.run`` span becomes the run span."""
    span = wrapped(*args, **kwargs)
    with guard("agent_framework.adopt_workflow_span"):
        _adopt(span, args, kwargs)
    return span


def _adopt(span: object, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    from agent_framework.observability import OtelAttr

    state = current_state()
    call = state.extra.get(_CALL) if state is not None else None
    if not isinstance(call, _WorkflowCall) or call.state.run_span is not None:
        return
    name = args[0] if args else kwargs.get("name")
    attributes = args[1] if len(args) > 1 else kwargs.get("attributes")
    if name != OtelAttr.WORKFLOW_RUN_SPAN or not isinstance(attributes, Mapping):
        return
    if attributes.get(OtelAttr.WORKFLOW_ID) != call.workflow_id or not isinstance(span, trace.Span):
        return
    if not span.is_recording():
        return
    call.state.run_span = span
    call.record_start()


def _local_sink() -> Context:
    return set_local_destination()


async def _send_message_wrapper(
    wrapped: Callable[..., Awaitable[Any]], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Wrapper for ``WorkflowContext.send_message``: the context it injects goes to no peer."""
    return await await_in_context("agent_framework.workflow_message", _local_sink, wrapped, args, kwargs)


_ACTIVE_RUN: Final = private.WORKFLOW_ACTIVE_RUN.usable


def instrument_workflows(wrap: Wrap, tracer: trace.Tracer) -> None:
    """Patch ``Workflow.run``, ``WorkflowAgent.run``, ``WorkflowContext.send_message`` and (verified versions)
    the framework's workflow span start."""
    from agent_framework import Workflow, WorkflowAgent, WorkflowContext

    if callable(vars(WorkflowAgent).get("run")):
        # No telemetry layer: run like an agent composed without it (our invoke_agent span is the run span).
        wrap(WorkflowAgent, "run", make_run_wrapper(tracer, Layer.RAW))
    if callable(vars(Workflow).get("run")):
        wrap(Workflow, "run", make_workflow_run_wrapper(tracer))
    if callable(vars(WorkflowContext).get("send_message")):
        wrap(WorkflowContext, "send_message", _send_message_wrapper)
    if private.WORKFLOW_SPAN_START.usable:
        wrap(importlib.import_module(private.WORKFLOW_SPAN_START.module), "start_workflow_span", _adopt_wrapper)
