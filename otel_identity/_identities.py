"""The identities in scope, as one immutable value stored in the OpenTelemetry Context.

A scope never mutates what an outer scope attached: it attaches a new :class:`Identities`
derived from the enclosing one (see the override rules in :mod:`otel_identity._scopes`).
The one mutable piece is a task's state, which changes while the task runs; it lives in a
:class:`TaskHandle` shared by every span of the task.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.util.types import AttributeValue

from otel_identity import attributes as attr
from otel_identity._validation import validate_id
from otel_identity.placement import Stamp, rows_stamped

__all__ = ["Identities", "TaskHandle", "get_identities", "set_identities"]

_IDENTITIES_KEY = context_api.create_key("otel_identity.identities")
logger = logging.getLogger("otel_identity")


class TaskHandle:
    """An A2A task while it is in scope: its id and its current state by name.

    State changes are visible to spans started afterwards and are recorded as span events
    (``otel_identity.a2a.task.state_change``) on the span given, or the current one. A change
    made while no span is recording (outside any span, or under a sampled-out one) is kept
    and recorded, with its own timestamp, on the next span started in the task's scope; it is
    lost only if no such span follows (a debug log says so when it is kept).
    """

    __slots__ = ("_lock", "_state", "_unrecorded", "task_id")

    def __init__(self, task_id: str, state: str | None = None) -> None:
        self.task_id = validate_id("task_id", task_id)
        self._state = validate_id("state", state) if state is not None else None
        self._lock = threading.Lock()
        self._unrecorded: list[tuple[dict[str, AttributeValue], int]] = []

    @property
    def state(self) -> str | None:
        """Current state by its A2A v1 name, e.g. ``TASK_STATE_WORKING``."""
        return self._state

    def set_state(self, state: str, *, span: trace.Span | None = None) -> None:
        """Move the task to ``state``; record the change on ``span`` (default: current span)."""
        state = validate_id("state", state)
        with self._lock:
            previous, self._state = self._state, state
        if previous == state:
            return
        event_attributes: dict[str, AttributeValue] = {attr.A2A_TASK_ID: self.task_id, attr.A2A_TASK_STATE: state}
        if previous is not None:
            event_attributes[attr.TASK_PREVIOUS_STATE] = previous
        target = span if span is not None else trace.get_current_span()
        if target.is_recording():
            target.add_event(attr.TASK_STATE_CHANGE_EVENT, event_attributes)
            # Both, never the state alone: a span started before the task scope is not half-stamped.
            target.set_attributes({attr.A2A_TASK_ID: self.task_id, attr.A2A_TASK_STATE: state})
            return
        with self._lock:
            self._unrecorded.append((event_attributes, time.time_ns()))
        logger.debug(
            "otel-identity: task %s moved to %s with no span recording; kept for the next span of the task",
            self.task_id,
            state,
        )

    def record_unrecorded(self, span: trace.Span) -> None:
        """Record on ``span`` the state changes made while no span was recording (the processor calls this)."""
        if not self._unrecorded:
            return
        with self._lock:
            changes, self._unrecorded = self._unrecorded, []
        for event_attributes, timestamp in changes:
            span.add_event(attr.TASK_STATE_CHANGE_EVENT, event_attributes, timestamp=timestamp)

    def __repr__(self) -> str:
        return f"TaskHandle(task_id={self.task_id!r}, state={self._state!r})"


@dataclass(frozen=True)
class Identities:
    """Every identity in scope at one point of the program.

    ``conversation_id`` is the effective, stable conversation id: the service's own when it
    has a stable one, otherwise the local session id (never a rotating response id).
    """

    session_id: str | None = None
    user_id: str | None = None
    conversation_id: str | None = None
    run_id: str | None = None
    previous_response_id: str | None = None
    task: TaskHandle | None = None
    run_opened_explicitly: bool = False
    """The run id was opened by the app or a protocol adapter (``run_scope``, ``set_run``), not by an agent run
    of ours: the first agent run started in it adopts it instead of nesting under it."""
    _static: Mapping[str, AttributeValue] = field(default_factory=dict, init=False, repr=False, compare=False)
    _with_chat: Mapping[str, AttributeValue] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def task_id(self) -> str | None:
        """The id of the task in scope, if any."""
        return self.task.task_id if self.task is not None else None

    @property
    def task_state(self) -> str | None:
        """The current state of the task in scope, if any (it changes while the scope is open)."""
        return self.task.state if self.task is not None else None

    def __post_init__(self) -> None:
        # The scope's fixed attributes, computed once per scope (placement rows stamped SCOPE, not
        # dynamic), and the same plus the chat-only rows: the same object when the scope has none.
        static: dict[str, AttributeValue] = {}
        for key, name in _STATIC:
            value = getattr(self, name)
            if value is not None:
                static[key] = value
        with_chat = static
        for key, name in _CHAT:
            value = getattr(self, name)
            if value is not None:
                with_chat = {**with_chat, key: value}
        object.__setattr__(self, "_static", static)
        object.__setattr__(self, "_with_chat", with_chat)

    def with_changes(self, **changes: object) -> Identities:
        """A copy with ``changes`` applied (attribute cache recomputed)."""
        fields: dict[str, object] = {
            "session_id": self.session_id,
            "user_id": self.user_id,
            "conversation_id": self.conversation_id,
            "run_id": self.run_id,
            "previous_response_id": self.previous_response_id,
            "task": self.task,
            "run_opened_explicitly": self.run_opened_explicitly,
        }
        unknown = changes.keys() - fields.keys()
        if unknown:
            raise TypeError(f"unknown identity fields: {sorted(unknown)}")
        fields.update(changes)
        # A direct constructor call: dataclasses.replace costs ~40% more, and this runs per scope entry.
        return Identities(**fields)  # type: ignore[arg-type]

    def span_attributes(self, *, chat: bool = False) -> dict[str, AttributeValue]:
        """Attributes to stamp on a span started in this scope (placement rows SCOPE, and SCOPE_CHAT for chat spans)."""
        attributes = dict(self._with_chat if chat else self._static)
        for key, name in _DYNAMIC:
            value = getattr(self, name)
            if value is not None:
                attributes[key] = value
        return attributes

    def span_base(self, name: str, existing: Mapping[str, object] | None) -> Mapping[str, AttributeValue]:
        """Everything this scope stamps on a span named ``name`` started with ``existing`` attributes.

        The per-scope dict itself when no dynamic row has a value (callers must not change it).
        Whether the span is a chat span is asked only when the scope has chat-only identities
        (semconv chat spans are named ``chat {model}``; agent-framework sets its attributes later).
        """
        base = self._static
        with_chat = self._with_chat
        if with_chat is not base and (
            name == "chat"
            or name.startswith("chat ")
            or (existing is not None and existing.get(attr.GEN_AI_OPERATION_NAME) == "chat")
        ):
            base = with_chat
        for key, field_name in _DYNAMIC:
            value = getattr(self, field_name)
            if value is not None:
                base = {**base, key: value}
        return base

    def stamp_for(self, name: str, existing: Mapping[str, object] | None) -> Mapping[str, AttributeValue]:
        """:meth:`span_base` without the keys the span's creator set (they win): what to set on it."""
        base = self.span_base(name, existing)
        if existing:
            # Only a span whose creator set one of our keys pays for a filtered copy.
            for key in base:
                if key in existing:
                    return {key: value for key, value in base.items() if key not in existing}
        return base

    def log_attributes(self) -> dict[str, AttributeValue]:
        """Attributes to stamp on a log record or event emitted in this scope: rows SCOPE, never chat-only keys."""
        return self.span_attributes()


def _fields(*stamps: Stamp, dynamic: bool | None = None) -> tuple[tuple[str, str], ...]:
    return tuple(
        (row.attribute, row.field)
        for row in rows_stamped(*stamps, dynamic=dynamic)
        if row.attribute is not None and row.field is not None
    )


_STATIC: Final = _fields(Stamp.SCOPE, dynamic=False)
_DYNAMIC: Final = _fields(Stamp.SCOPE, dynamic=True)
_CHAT: Final = _fields(Stamp.SCOPE_CHAT)

EMPTY = Identities()


def get_identities(context: Context | None = None) -> Identities | None:
    """The identities in scope in ``context`` (default: the current context), or ``None``."""
    value = context_api.get_value(_IDENTITIES_KEY, context)
    return value if isinstance(value, Identities) else None


def set_identities(identities: Identities, context: Context | None = None) -> Context:
    """A new Context with ``identities`` in scope; ``context`` itself is not changed."""
    return context_api.set_value(_IDENTITIES_KEY, identities, context)
