"""One A2A call as one side sees it: its span, the task it touches, and how the span ends.

Client and server spans follow the same rules, so they live here once:

* the request's ids go on the span when it starts (:meth:`Operation.record_request`);
* ids the server generates go on it as soon as a response or the first stream event carries
  them (:meth:`Operation.observe`);
* task state changes become ``otel_identity.a2a.task.state_change`` events through the core's
  :class:`~otel_identity.TaskHandle`, which also updates ``a2a.task.state`` for later spans
  of the task; read-only calls (``GetTask``, ``ListTasks`` ...) only set the attribute;
* the span ends exactly once: ERROR when the call raised or the task ended
  ``TASK_STATE_FAILED`` / ``TASK_STATE_REJECTED`` (``error.type`` = exception class or state),
  UNSET otherwise, including ``TASK_STATE_CANCELED``.

Every method runs under :func:`otel_identity._safety.guard`: nothing here raises into the app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from otel_identity import TaskHandle, record_request, record_result
from otel_identity import attributes as attr
from otel_identity.instrumentation import guard
from otel_identity_a2a import attributes as a2a_attr
from otel_identity_a2a._methods import STATE_EVENTS
from otel_identity_a2a._protocol import ERROR_STATES, RequestFacts, observe

__all__ = ["Operation"]

TaskListener = Callable[["Operation", str], None]


class Operation:
    """The span of one A2A call plus what it learned; safe to use from the call's task only."""

    __slots__ = (
        "_ended",
        "_failed",
        "_lock",
        "_on_task",
        "_recorded_task",
        "conversation_id",
        "method",
        "span",
        "state",
        "task",
    )

    def __init__(self, span: trace.Span, method: str, *, on_task: TaskListener | None = None) -> None:
        self.span = span
        self.method = method
        self.task: TaskHandle | None = None
        self.conversation_id: str | None = None
        self.state: str | None = None
        self._on_task = on_task
        self._recorded_task: str | None = None
        self._failed = False
        self._ended = False
        self._lock = threading.Lock()

    def record_request(self, facts: RequestFacts) -> None:
        """Put what the request names on the span; open the task handle when it names a task."""
        with guard("a2a record_request"):
            if facts.task_id is not None:
                self.bind_task(facts.task_id)
            if facts.context_id is not None:
                self.set_conversation(facts.context_id)
            if not self.span.is_recording():
                return
            record_result(self.span, message_id=facts.message_id)
            record_request(self.span, reference_task_ids=list(facts.reference_task_ids))
            if facts.tenant is not None:
                self.span.set_attribute(a2a_attr.A2A_TENANT, facts.tenant)

    def bind_task(self, task_id: str, *, record: bool = True) -> TaskHandle:
        """The handle of ``task_id`` for this call (created on first sight, replaced if the id changes).

        ``record=False`` opens the handle without writing ``a2a.task.id`` on the span yet: a
        server assigns a task id before the executor runs, but a reply that is a plain
        ``Message`` never makes it a task the caller can see.
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
        if write and self.span.is_recording():
            self.span.set_attribute(attr.A2A_TASK_ID, task_id)
        if created and self._on_task is not None:
            with guard("a2a task listener"):
                self._on_task(self, task_id)
        return handle

    def set_conversation(self, conversation_id: str) -> None:
        """Record the A2A ``context_id`` as this call's ``gen_ai.conversation.id``."""
        if conversation_id == self.conversation_id:
            return
        self.conversation_id = conversation_id
        if self.span.is_recording():
            self.span.set_attribute(attr.GEN_AI_CONVERSATION_ID, conversation_id)

    def observe(self, item: object) -> None:
        """Take ids and state from a response or stream event."""
        with guard("a2a observe"):
            observed = observe(item)
            if observed is None:
                return
            if observed.context_id is not None:
                self.set_conversation(observed.context_id)
            if observed.task_id is not None:
                self.bind_task(observed.task_id)
            if observed.state is not None:
                self.record_state(observed.state)

    def record_state(self, state: str) -> None:
        """The task reached ``state``: an event for calls that move tasks, the attribute always."""
        self.state = state
        task = self.task
        if task is not None and self.method in STATE_EVENTS:
            task.set_state(state, span=self.span)
        elif self.span.is_recording():
            self.span.set_attribute(attr.A2A_TASK_STATE, state)

    def fail(self, error: BaseException) -> None:
        """The call raised ``error``; only ``Exception`` marks the span ERROR (not cancellation or exit)."""
        with guard("a2a fail"):
            if not isinstance(error, Exception):
                return
            self._failed = True
            if self.span.is_recording():
                self.span.record_exception(error)
                self.span.set_attribute(a2a_attr.ERROR_TYPE, type(error).__qualname__)
                self.span.set_status(Status(StatusCode.ERROR, str(error) or type(error).__qualname__))

    def end(self) -> None:
        """End the span once; a task that ended FAILED or REJECTED makes it ERROR."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
        with guard("a2a end"):
            if not self._failed and self.state in ERROR_STATES and self.span.is_recording():
                self.span.set_attribute(a2a_attr.ERROR_TYPE, self.state)
                self.span.set_status(Status(StatusCode.ERROR, f"task ended {self.state}"))
        with guard("a2a span end"):
            self.span.end()
