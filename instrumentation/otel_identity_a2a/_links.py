"""Where each task's work started, so calls that begin a new trace can link back to it.

A resubscription (``SubscribeToTask``), a follow-up turn sent later, or a push notification
often runs in a trace of its own: the originating request has long finished, or the
notification is sent from a background task. Each side remembers, per task id, the span
that started the task and the latest one that worked on it, with the identities in scope
then; a new span in another trace gets span links to them and, for push notifications, the
same session and conversation.

The memory is bounded (least recently used entries are dropped) and process-local.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanContext

from otel_identity import Identities, set_session
from otel_identity_a2a.attributes import LINK_ROLE

__all__ = ["TaskTraces"]

_LINK_ORIGIN: Final = {LINK_ROLE: "task_origin"}
_LINK_LATEST: Final = {LINK_ROLE: "task_latest"}


@dataclass(frozen=True)
class _Seen:
    origin: SpanContext
    latest: SpanContext
    session_id: str | None
    user_id: str | None
    conversation_id: str | None


class TaskTraces:
    """Bounded, thread-safe map of task id to the spans that started and last advanced it."""

    MAX_TASKS: Final = 4096
    """Tasks remembered at most; the least recently used are forgotten first."""

    def __init__(self, max_tasks: int = MAX_TASKS) -> None:
        self._max = max_tasks
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, task_id: str, span_context: SpanContext, identities: Identities | None) -> None:
        """``span_context`` worked on ``task_id``; the first one seen stays its origin."""
        if not span_context.is_valid:
            return
        with self._lock:
            previous = self._seen.pop(task_id, None)
            self._seen[task_id] = _Seen(
                origin=previous.origin if previous is not None else span_context,
                latest=span_context,
                session_id=identities.session_id if identities else None,
                user_id=identities.user_id if identities else None,
                conversation_id=identities.conversation_id if identities else None,
            )
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)

    def links(self, task_id: str | None, trace_id: int | None) -> list[Link]:
        """Links to where ``task_id`` started and last ran, for a span in trace ``trace_id`` (others only)."""
        if task_id is None:
            return []
        with self._lock:
            seen = self._seen.get(task_id)
        if seen is None:
            return []
        found: list[Link] = []
        if seen.origin.trace_id != trace_id:
            found.append(Link(seen.origin, _LINK_ORIGIN))
        if seen.latest != seen.origin and seen.latest.trace_id != trace_id:
            found.append(Link(seen.latest, _LINK_LATEST))
        return found

    def scope(self, task_id: str, base: Context) -> Context:
        """``base`` with the session the task's latest request ran in (unchanged when unknown)."""
        with self._lock:
            seen = self._seen.get(task_id)
        if seen is None or seen.session_id is None:
            return base
        return set_session(seen.session_id, user_id=seen.user_id, conversation_id=seen.conversation_id, context=base)

    def clear(self) -> None:
        """Forget every task (used on uninstrument)."""
        with self._lock:
            self._seen.clear()
