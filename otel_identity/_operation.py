"""One traced operation (an agent run, an A2A call): its span, the identities it learns, how it ends.

Shaped like opentelemetry-util-genai's invocations: an instrumentor *starts* an operation
(its span, with :func:`identity_attributes` for what it knows at start), hands it what it
*observes* (ids and task state read from the framework's objects), marks it *failed*, and
*ends* it; :meth:`Operation.end` runs at most once. The identity attributes it writes are
placed by the placement table: the instrumentor passes facts, never attribute names.

The lifecycle helpers run the framework's call: :func:`await_operation` for a call that is
awaited, :func:`traced_stream` for a stream. Both attach the operation's context only
around the framework's work (streams: around each pull, never across ``yield``), always
detach it, keep the framework's call outside any telemetry ``try`` so its result and
exceptions pass through unchanged, and always end the span.

Every method runs under :func:`otel_identity._safety.guard`: nothing here raises into the app.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Generator,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, TypeVar

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from otel_identity._identities import TaskHandle
from otel_identity._recording import record_request, record_result
from otel_identity._safety import guard
from otel_identity.placement import PLACEMENTS, IdentityKind

__all__ = ["Observed", "Operation", "await_operation", "identity_attributes", "linked_coroutine", "traced_stream"]

T = TypeVar("T")

_SESSION = PLACEMENTS[IdentityKind.SESSION].attribute
_CONVERSATION = PLACEMENTS[IdentityKind.CONVERSATION].attribute
_TASK = PLACEMENTS[IdentityKind.TASK].attribute
_TASK_STATE = PLACEMENTS[IdentityKind.TASK_STATE].attribute


def identity_attributes(
    *,
    session_id: str | None = None,
    conversation_id: str | None = None,
    task_id: str | None = None,
    task_state: str | None = None,
) -> dict[str, AttributeValue]:
    """The identities an operation names itself, as attributes to start its span with.

    Given at creation they win over the scope's (the identity processor adds only what is
    missing): an A2A client span's conversation is the remote ``context_id``, not the caller's.
    Pass values already cleaned (:func:`otel_identity.instrumentation.clean_id`).
    """
    found: dict[str, AttributeValue] = {}
    for key, value in (
        (_SESSION, session_id),
        (_CONVERSATION, conversation_id),
        (_TASK, task_id),
        (_TASK_STATE, task_state),
    ):
        if key is not None and value is not None:
            found[key] = value
    return found


@dataclass(frozen=True)
class Observed:
    """What a response or stream event says about identity (read by the instrumentor from its protocol)."""

    task_id: str | None = None
    conversation_id: str | None = None
    state: str | None = None


TaskListener = Callable[["Operation", str], None]
"""Called with an operation and a task id it starts to track."""
Reader = Callable[[object], "Observed | None"]


class Operation:
    """The span of one operation plus the identities it learned; used from the operation's own task.

    Args:
        span: the operation's span, already started.
        read: turns a framework object (a response, a stream event) into :class:`Observed`.
        records_state_changes: task state changes become state-change events (calls that move
            a task); otherwise only ``a2a.task.state`` is set (read-only calls).
        error_states: task states that make the span ERROR when the operation ends in them.
        on_task: called once per task id the operation starts to track.
        failures: what counts as the operation failing: ``Exception`` by default (cancellation
            and exit are outcomes someone asked for); ``BaseException`` for a span that mirrors
            one the framework marks failed on cancellation too.
    """

    __slots__ = (
        "_ended",
        "_error_states",
        "_failed",
        "_failures",
        "_lock",
        "_on_task",
        "_read",
        "_recorded_task",
        "_records_state_changes",
        "conversation_id",
        "span",
        "state",
        "task",
    )

    def __init__(
        self,
        span: trace.Span,
        *,
        read: Reader | None = None,
        records_state_changes: bool = True,
        error_states: Collection[str] = (),
        on_task: TaskListener | None = None,
        failures: type[BaseException] = Exception,
    ) -> None:
        self.span = span
        self._failures = failures
        self.task: TaskHandle | None = None
        self.conversation_id: str | None = None
        self.state: str | None = None
        self._read = read
        self._records_state_changes = records_state_changes
        self._error_states = frozenset(error_states)
        self._on_task = on_task
        self._recorded_task: str | None = None
        self._failed = False
        self._ended = False
        self._lock = threading.Lock()

    def record_request(
        self,
        *,
        message_id: str | None = None,
        reference_task_ids: Sequence[str] = (),
        previous_response_id: str | None = None,
    ) -> None:
        """Put what the request carried on the span (single-result and request-only rows)."""
        record_result(self.span, message_id=message_id)
        record_request(
            self.span, reference_task_ids=list(reference_task_ids), previous_response_id=previous_response_id
        )

    def record_result(
        self, *, response_id: object = None, message_id: object = None, artifact_id: object = None
    ) -> None:
        """Put the single-result ids the operation produced on its span."""
        record_result(self.span, response_id=response_id, message_id=message_id, artifact_id=artifact_id)

    def set_session(self, session_id: str | None) -> None:
        """Record ``session_id`` as this span's session (a span started before its session scope was known)."""
        with guard("operation set_session"):
            if session_id is not None and _SESSION is not None and self.span.is_recording():
                self.span.set_attribute(_SESSION, session_id)

    def bind_task(self, task_id: str, *, record: bool = True) -> TaskHandle:
        """The handle of ``task_id`` for this operation (created on first sight, replaced if the id changes).

        ``record=False`` opens the handle without writing the task id on the span yet: a
        server assigns a task id before the executor runs, but a reply that is a plain
        message never makes it a task the caller can see.
        """
        with self._lock:
            current = self.task
            if current is not None and current.task_id == task_id:
                handle, created = current, False
            else:
                handle, created = TaskHandle(task_id), True
                self.task = handle
            write = record and self._recorded_task != task_id
            if write:
                self._recorded_task = task_id
        if write and _TASK is not None and self.span.is_recording():
            self.span.set_attribute(_TASK, task_id)
        if created and self._on_task is not None:
            with guard("operation task listener"):
                self._on_task(self, task_id)
        return handle

    def set_conversation(self, conversation_id: str) -> None:
        """Record ``conversation_id`` (e.g. an A2A ``context_id``) as this operation's conversation."""
        if conversation_id == self.conversation_id:
            return
        self.conversation_id = conversation_id
        if _CONVERSATION is not None and self.span.is_recording():
            self.span.set_attribute(_CONVERSATION, conversation_id)

    def learn(self, observed: Observed) -> None:
        """Take the ids and state of one observation."""
        with guard("operation learn"):
            if observed.conversation_id is not None:
                self.set_conversation(observed.conversation_id)
            if observed.task_id is not None:
                self.bind_task(observed.task_id)
            if observed.state is not None:
                self.record_state(observed.state)

    def observe(self, item: object) -> None:
        """Read ``item`` (a response or stream event) with the operation's reader and learn from it."""
        with guard("operation observe"):
            if self._read is None:
                return
            observed = self._read(item)
            if observed is not None:
                self.learn(observed)

    def record_state(self, state: str) -> None:
        """The task reached ``state``: a state-change event for calls that move tasks, the attribute always."""
        self.state = state
        task = self.task
        if task is not None and self._records_state_changes:
            task.set_state(state, span=self.span)
        elif _TASK_STATE is not None and self.span.is_recording():
            self.span.set_attribute(_TASK_STATE, state)

    def fail(self, error: BaseException) -> None:
        """The operation raised ``error``; only the operation's ``failures`` mark the span ERROR."""
        with guard("operation fail"):
            if not isinstance(error, self._failures):
                return
            self._failed = True
            if self.span.is_recording():
                self.span.record_exception(error)
                self.span.set_attribute(ERROR_TYPE, type(error).__qualname__)
                self.span.set_status(Status(StatusCode.ERROR, str(error) or type(error).__qualname__))

    @property
    def ended(self) -> bool:
        return self._ended

    def end(self) -> None:
        """End the span once; a task that ended in one of ``error_states`` makes it ERROR."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
        with guard("operation end"):
            if not self._failed and self.state in self._error_states and self.span.is_recording():
                self.span.set_attribute(ERROR_TYPE, self.state or "")
                self.span.set_status(Status(StatusCode.ERROR, f"task ended {self.state}"))
        with guard("operation span end"):
            self.span.end()


Begin = Callable[[], tuple["Operation | None", "Context | None", Callable[[], AsyncIterator[T]]]]


class _Linked(Coroutine[Any, Any, T]):
    """Our coroutine around the framework's awaitable, closed together when ours is never run.

    A wrapper that returns its own coroutine must not change what the app sees when it
    drops or closes the call unawaited: closing ours closes the framework's too (it may hold
    a lock: a workflow's run), and ``on_discard`` ends what we started (our span). A
    coroutine of ours never started and collected is closed quietly, and the framework's
    then warns "never awaited" exactly as it would without us.
    """

    __slots__ = ("__weakref__", "_discarded", "_inner", "_on_discard", "_ours", "_run")

    def __init__(self, ours: Coroutine[Any, Any, T], inner: object, on_discard: Callable[[], None]) -> None:
        self._ours = ours
        self._inner = inner
        self._on_discard = on_discard
        self._discarded = False
        self._run = False
        """Awaited or sent to: ours runs, and ends what it started itself."""

    def send(self, value: Any) -> Any:
        self._run = True
        return self._ours.send(value)

    def throw(self, *args: Any) -> Any:
        self._run = True
        return self._ours.throw(*args)

    def __await__(self) -> Generator[Any, None, T]:
        # ``await`` keeps only the iterator returned here, not this object: it is run from now on.
        self._run = True
        return self._ours.__await__()

    def _unstarted(self) -> bool:
        return not self._run and inspect.getcoroutinestate(self._ours) == inspect.CORO_CREATED

    def _discard(self, *, close_inner: bool) -> None:
        unstarted = self._unstarted()
        self._ours.close()
        if not unstarted or self._discarded:
            return
        self._discarded = True
        if close_inner:
            close = getattr(self._inner, "close", None)
            if callable(close):
                with guard("linked coroutine close"):
                    close()
        with guard("linked coroutine discard"):
            self._on_discard()

    def close(self) -> None:
        self._discard(close_inner=True)

    def __del__(self) -> None:
        if self._unstarted():
            self._discard(close_inner=False)
        self._inner = None


def linked_coroutine(
    ours: Coroutine[Any, Any, T], inner: object, on_discard: Callable[[], None]
) -> Coroutine[Any, Any, T]:
    """``ours`` (which awaits the framework's ``inner``), closed with ``inner`` if never run (see ``_Linked``)."""
    return _Linked(ours, inner, on_discard)


async def await_operation(
    operation: Operation, context: Context, call: Callable[[], Awaitable[T]], *, observe: bool = True
) -> T:
    """Await ``call()`` with ``context`` attached; fail, observe the result and end ``operation`` around it."""
    token = context_api.attach(context)
    try:
        result = await call()
    except BaseException as error:
        operation.fail(error)
        raise
    else:
        if observe:
            operation.observe(result)
    finally:
        context_api.detach(token)
        operation.end()
    return result


async def traced_stream(begin: Begin[T]) -> AsyncIterator[T]:
    """Run ``begin()`` on the first pull (start the span, prepare the call), then iterate the stream it opens.

    ``begin`` returns the operation (``None``: pass through untraced), the context to attach
    around each pull, and a function opening the wrapped stream. Starting on the first pull
    means a stream that is never iterated starts no span, so none is left unended. The span
    ends whether the stream is exhausted, fails, is closed by its consumer, or is
    garbage-collected (the event loop closes abandoned async generators, which runs the
    ``finally`` below).
    """
    operation, context, open_stream = begin()
    stream = _pull_in(context, open_stream)
    try:
        async for item in stream:
            if operation is not None:
                operation.observe(item)
            yield item
    except BaseException as error:
        if operation is not None:
            operation.fail(error)
        raise
    finally:
        try:
            await stream.aclose()
        finally:
            if operation is not None:
                operation.end()


async def _pull_in(context: Context | None, open_stream: Callable[[], AsyncIterator[T]]) -> AsyncGenerator[T, None]:
    token = context_api.attach(context) if context is not None else None
    try:
        stream = open_stream()
    finally:
        if token is not None:
            context_api.detach(token)
    try:
        while True:
            token = context_api.attach(context) if context is not None else None
            try:
                item = await stream.__anext__()
            except StopAsyncIteration:
                return
            finally:
                if token is not None:
                    context_api.detach(token)
            yield item
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            token = context_api.attach(context) if context is not None else None
            try:
                await aclose()
            finally:
                if token is not None:
                    context_api.detach(token)
