"""A2A: the run span ``A2AAgent.run`` lacks, and the task scope of hosted agents.

Client side (``agent_framework_a2a.A2AAgent``, 1.0.0b261022): ``run`` overrides the
telemetry layer, so the framework emits no span for it. We emit ``invoke_agent {name}``
(kind CLIENT) with the A2A identities: ``gen_ai.conversation.id`` = the A2A ``context_id``,
``a2a.task.id`` and ``a2a.task.state`` (by name; the framework stores the raw protobuf
enum), state changes as span events, and ``a2a.message.reference_task_ids`` exactly as
sent. The message actually sent is read by wrapping the private
``A2AAgent._prepare_message_for_a2a`` (version-guarded); without it the reference is
inferred from the session as the agent does (stored task not waiting for input).
``A2AAgent.poll_task`` gets the same span, marked as resuming its continuation token.

Server side (``A2AExecutor.execute``): the request's ``context_id`` becomes the
conversation and its task the task scope for everything the hosted agent does. An a2a-sdk
server instrumentor may open the same scopes around it; equal scopes are not re-opened, so
its task handle (which tracks state changes) stays in force.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from inspect import isawaitable
from typing import Any, Final

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind

from otel_identity import (
    TaskHandle,
    set_conversation,
    set_task,
)
from otel_identity.instrumentation import await_in_context, clean_id, guard, identity_attributes, linked_coroutine
from otel_identity_agent_framework._framework import StreamFacts, stream_error
from otel_identity_agent_framework._identity import ContinuationFacts, plan_agent_run
from otel_identity_agent_framework._run import (
    RunState,
    applied,
    current_state,
    finish_span,
    keep_span_until_collected,
    record_response,
    start_run_span,
)

__all__ = [
    "A2AFacts",
    "make_a2a_poll_wrapper",
    "make_a2a_prepare_wrapper",
    "make_a2a_run_wrapper",
    "make_a2a_stream_wrapper",
    "make_executor_wrapper",
    "task_state_name",
]

_SENT: Final = "a2a.sent"
_OBSERVED: Final = "a2a.observed"
_INPUT_REQUIRED: Final = "TASK_STATE_INPUT_REQUIRED"
_FAILED_STATES: Final = frozenset({"TASK_STATE_FAILED", "TASK_STATE_REJECTED"})


def task_state_name(value: object) -> str | None:
    """A2A task state by its wire name (``TaskState.Name``), from the protobuf int or a name."""
    if isinstance(value, str):
        return clean_id("task_state", value)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    try:
        from a2a.types import TaskState

        return str(TaskState.Name(value))
    except (ImportError, ValueError):
        return None


def session_a2a_state(session: object) -> tuple[str | None, str | None, str | None]:
    """``(context_id, task_id, task_state name)`` of an A2A session, read from its public fields."""
    service = getattr(session, "service_session_id", None) if session is not None else None
    if isinstance(service, str):
        return clean_id("context_id", service), None, None
    if isinstance(service, Mapping):
        return (
            clean_id("context_id", service.get("context_id")),
            clean_id("task_id", service.get("task_id")),
            task_state_name(service.get("task_state")),
        )
    return None, None, None


@dataclass(frozen=True)
class SentMessage:
    """The A2A message a run sent (request-only fields)."""

    reference_task_ids: tuple[str, ...]
    task_id: str | None


@dataclass
class A2AFacts:
    """What the A2A items a run received say about its task and conversation (the last wins)."""

    task_id: str | None = None
    context_id: str | None = None
    state: str | None = None
    message_id: str | None = None

    seen: bool = False
    """Whether any A2A item was observed."""

    @classmethod
    def from_items(cls, items: Iterable[object]) -> A2AFacts:
        facts = cls()
        for item in items:
            facts.observe(item)
        return facts

    def observe(self, item: object) -> None:
        """Take the ids of one A2A protocol item (``StreamResponse`` payload or a bare item)."""
        from a2a.types import Message, StreamResponse, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent

        if isinstance(item, StreamResponse):
            payload = item.WhichOneof("payload")
            if payload is None:
                return
            item = getattr(item, payload)
        if isinstance(item, Task):
            self._take(item.id, item.context_id, item.status.state)
            self.message_id = None
        elif isinstance(item, TaskStatusUpdateEvent):
            self._take(item.task_id, item.context_id, item.status.state)
        elif isinstance(item, TaskArtifactUpdateEvent):
            self._take(item.task_id, item.context_id, None)
        elif isinstance(item, Message):
            self._take(item.task_id, item.context_id, None)
            self.message_id = clean_id("message_id", item.message_id or None)
        else:
            return
        self.seen = True

    def _take(self, task_id: str, context_id: str, state: object) -> None:
        self.task_id = clean_id("task_id", task_id or None) or self.task_id
        self.context_id = clean_id("context_id", context_id or None) or self.context_id
        name = task_state_name(state) if state else None
        self.state = name or self.state


def _raw_items(raw: object) -> list[object]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return list(raw)
    return [raw]


async def _tap(stream: AsyncIterable[object], facts: A2AFacts) -> AsyncIterator[object]:
    """Pass the A2A items through unchanged, noting their ids."""
    async for item in stream:
        with guard("a2a.observe"):
            facts.observe(item)
        yield item


def make_a2a_stream_wrapper() -> Callable[..., Any]:
    """Wrapper for the private ``A2AAgent._map_a2a_stream(a2a_stream, ...)``: observe every A2A item received.

    The updates the agent yields leave out some items (a terminal status without a message,
    in a non-background run), so the task state is read from the protocol items themselves.
    """

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with guard("a2a.map_stream"):
            state = current_state()
            if state is not None and state.agent is instance and args:
                facts = A2AFacts()
                state.extra[_OBSERVED] = facts
                args = (_tap(args[0], facts), *args[1:])
        return wrapped(*args, **kwargs)

    return wrapper


def make_a2a_prepare_wrapper() -> Callable[..., Any]:
    """Wrapper for the private ``A2AAgent._prepare_message_for_a2a``: note the message really sent."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        message = wrapped(*args, **kwargs)
        with guard("a2a.prepare_message"):
            state = current_state()
            if state is not None and state.agent is instance:
                references = tuple(
                    cleaned for value in message.reference_task_ids if (cleaned := clean_id("reference_task_id", value))
                )
                state.extra[_SENT] = SentMessage(references, clean_id("task_id", message.task_id or None))
        return message

    return wrapper


def _sent(state: RunState) -> SentMessage | None:
    value = state.extra.get(_SENT)
    return value if isinstance(value, SentMessage) else None


def _inferred_sent(session: object) -> SentMessage:
    """What ``A2AAgent`` sends for ``session`` (its documented rule), when the real message was not seen."""
    _, task_id, state = session_a2a_state(session)
    if task_id is None:
        return SentMessage((), None)
    if state == _INPUT_REQUIRED:
        return SentMessage((), task_id)
    return SentMessage((task_id,), None)


def make_a2a_run_wrapper(tracer: trace.Tracer, *, sees_sent_message: bool) -> Callable[..., Any]:
    """Wrapper for ``A2AAgent.run``."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        state: RunState | None = None
        with guard("a2a.run"):
            state = _start_state(tracer, instance, kwargs)
        if state is None:
            return wrapped(*args, **kwargs)
        run_state = state
        stream = bool(kwargs.get("stream", False))
        if stream:
            _start_span(run_state)
        with applied(run_state):
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as error:
                _finish(run_state, [], None, None, error)
                raise
        with guard("a2a.sent"):
            if not sees_sent_message and _SENT not in run_state.extra:
                run_state.extra[_SENT] = _inferred_sent(kwargs.get("session"))
        if stream:
            return _hook_stream(run_state, result)
        if not isawaitable(result):
            return result
        return linked_coroutine(_await(run_state, result), result, partial(finish_span, run_state))

    return wrapper


def _start_state(tracer: trace.Tracer, agent: Any, kwargs: Mapping[str, Any]) -> RunState:
    session = kwargs.get("session")
    token = kwargs.get("continuation_token")
    plan = plan_agent_run(agent, session, service_owned=True)
    resumed = ContinuationFacts.from_token(token) if token is not None else None
    context_id, task_id, state = session_a2a_state(session)
    task: TaskHandle | None = None
    if resumed is not None and resumed.task_id is not None:
        task = TaskHandle(resumed.task_id)
        context_id = resumed.context_id or context_id
    elif task_id is not None and state == _INPUT_REQUIRED:
        task = TaskHandle(task_id, state)
    run_state = RunState(agent, plan, tracer, expects_framework_span=False, task=task, resumed=resumed)
    run_state.extra["context_id"] = context_id
    run_state.extra["session"] = session
    return run_state


def _start_span(state: RunState) -> None:
    with guard("a2a.start_span"):
        context_id = state.extra.get("context_id")
        start_run_span(
            state,
            kind=SpanKind.CLIENT,
            extra=identity_attributes(conversation_id=context_id if isinstance(context_id, str) else None),
            error_states=_FAILED_STATES,
        )


def _hook_stream(state: RunState, result: Any) -> Any:
    from agent_framework import ResponseStream

    if not isinstance(result, ResponseStream):
        finish_span(state)
        return result
    with guard("a2a.stream_hooks"):
        facts = StreamFacts(keep_items=True)
        result.with_pull_context_manager(partial(applied, state))
        result.with_transform_hook(facts.observe)
        result.with_cleanup_hook(partial(_stream_cleanup, state, result, facts))
        keep_span_until_collected(result, state)
    return result


def _stream_cleanup(state: RunState, stream: Any, facts: StreamFacts) -> None:
    with guard("a2a.stream_cleanup"):
        _finish(state, facts.items, facts.response_id, facts.continuation_token, stream_error(stream))


async def _await(state: RunState, awaitable: Awaitable[Any]) -> Any:
    _start_span(state)
    with applied(state):
        try:
            response = await awaitable
        except BaseException as error:
            _finish(state, [], None, None, error)
            raise
    with guard("a2a.finish"):
        _finish(
            state,
            _raw_items(getattr(response, "raw_representation", None)),
            getattr(response, "response_id", None),
            getattr(response, "continuation_token", None),
            None,
        )
    return response


def _finish(
    state: RunState,
    items: list[object],
    response_id: object,
    token: object,
    error: BaseException | None,
) -> None:
    """Record the A2A identities of the finished run on its span, then end the span."""
    with guard("a2a.finish"):
        own = state.own
        if own is not None and own.span.is_recording():
            observed = state.extra.get(_OBSERVED)
            facts = observed if isinstance(observed, A2AFacts) and observed.seen else A2AFacts.from_items(items)
            _, session_task, session_state = session_a2a_state(state.extra.get("session"))
            context_id = facts.context_id or state.extra.get("context_id")
            if isinstance(context_id, str):
                own.set_conversation(context_id)
            task_id = facts.task_id or session_task
            task_state = facts.state or (session_state if task_id == session_task else None)
            if task_id is not None:
                if state.task is not None and state.task.task_id == task_id:
                    own.task = state.task  # the run's own handle: its state changes are this span's events
                own.bind_task(task_id)
                if task_state is not None:
                    own.record_state(task_state)
            sent = _sent(state)
            if sent is not None:
                own.record_request(reference_task_ids=sent.reference_task_ids)
            if error is None:
                own.record_result(message_id=facts.message_id)
                # A2AAgent reports the task id as AgentResponse.response_id: a task is not a single result.
                is_task = response_id is not None and response_id in (task_id, session_task)
                record_response(state, None if is_task else response_id, token)
    finish_span(state, error)


def make_a2a_poll_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    """Wrapper for ``A2AAgent.poll_task(continuation_token)``: a run span that resumes the token."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        token = args[0] if args else kwargs.get("continuation_token")
        state: RunState | None = None
        with guard("a2a.poll"):
            facts = ContinuationFacts.from_token(token)
            plan = plan_agent_run(instance, None, service_owned=True)
            task = TaskHandle(facts.task_id) if facts is not None and facts.task_id is not None else None
            state = RunState(instance, plan, tracer, expects_framework_span=False, task=task, resumed=facts)
            state.extra["context_id"] = facts.context_id if facts is not None else None
        if state is None:
            return wrapped(*args, **kwargs)
        with applied(state):
            result = wrapped(*args, **kwargs)
        if not isawaitable(result):
            return result
        return linked_coroutine(_await(state, result), result, partial(finish_span, state))

    return wrapper


def make_executor_wrapper() -> Callable[..., Any]:
    """Wrapper for ``A2AExecutor.execute(context, event_queue)``: conversation and task scope of the request."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        request = args[0] if args else kwargs.get("context")
        return _execute(wrapped, args, kwargs, request)

    return wrapper


async def _execute(wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], request: Any) -> Any:
    def scope() -> Context:
        # Equal scopes are not re-opened (the core's rule): an a2a-sdk server instrumentor's task handle stays.
        context = context_api.get_current()
        context_id = clean_id("context_id", getattr(request, "context_id", None))
        task_id = clean_id("task_id", getattr(request, "task_id", None))
        if context_id is not None:
            context = set_conversation(context_id, context=context)
        if task_id is not None:
            context = set_task(TaskHandle(task_id), context=context)
        return context

    return await await_in_context("a2a.execute", scope, wrapped, args, kwargs)
