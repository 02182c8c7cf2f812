"""Which identities a run of an agent-framework agent has, read from its ``AgentSession``.

The lifetime rules are the core's (:mod:`otel_identity.placement`); this module only maps
the framework's fields onto them:

* ``session.session_id`` is the local session (``session.id``).
* The conversation id (``gen_ai.conversation.id``) must be the same for every run of the
  session: the service's conversation id when the session already has a stable one (A2A
  ``context_id``, ``conv_*``, thread ids), otherwise the local session id. A response id
  used as the service handle (``resp_*``, it rotates every turn) is never the conversation:
  it is the run's previous-response handle. The value chosen at a session's first run in
  this process is kept for its later runs, so a service that creates its conversation id
  during the first run does not split the session in two.
* A continuation token given to the run is "resumed", never recorded raw.

No state is written into the session: its serialization stays the framework's. What is
remembered per session object lives in weak maps here, and is lost with the object (a
session restored with ``from_dict`` starts over, from what its fields say).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otel_identity import new_run_id
from otel_identity.instrumentation import clean_id
from otel_identity_agent_framework._framework import looks_like_response_handle, owning_conversation_id

__all__ = ["ContinuationFacts", "RunPlan", "plan_run"]


@dataclass(frozen=True)
class ContinuationFacts:
    """The ids inside a continuation token (never the token itself)."""

    response_id: str | None = None
    task_id: str | None = None
    context_id: str | None = None

    @classmethod
    def from_token(cls, token: object) -> ContinuationFacts | None:
        if not isinstance(token, Mapping):
            return None
        return cls(
            response_id=clean_id("response_id", token.get("response_id")),
            task_id=clean_id("task_id", token.get("task_id")),
            context_id=clean_id("context_id", token.get("context_id")),
        )


@dataclass(frozen=True)
class RunPlan:
    """The identities of one run, decided when the run is called (before the session changes)."""

    run_id: str
    session_id: str | None = None
    conversation_id: str | None = None
    previous_response_id: str | None = None
    resumed: ContinuationFacts | None = None


_lock = threading.Lock()
_pinned: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
"""Conversation id chosen at a session object's first run."""


def _weak_get(mapping: weakref.WeakKeyDictionary[Any, str], key: object) -> str | None:
    try:
        return mapping.get(key)
    except TypeError:  # not weak-referenceable
        return None


def _weak_set(mapping: weakref.WeakKeyDictionary[Any, str], key: object, value: str) -> None:
    with contextlib.suppress(TypeError):  # not weak-referenceable: nothing to remember
        mapping[key] = value


def plan_run(
    agent: object,
    session: object,
    *,
    continuation_token: object = None,
    keep_first: bool = True,
) -> RunPlan:
    """Decide the identities of a run of ``agent`` with ``session`` (which may be ``None``).

    ``keep_first=False`` uses the service's conversation id as soon as the session has one,
    instead of the one chosen at the session's first run: for A2A, whose ``context_id`` is
    shared with the remote agent and must correlate both sides.
    """
    resumed = ContinuationFacts.from_token(continuation_token) if continuation_token is not None else None
    run_id = new_run_id()
    if session is None:
        return RunPlan(run_id=run_id, resumed=resumed)
    session_id = clean_id("session_id", getattr(session, "session_id", None))
    if session_id is None:
        return RunPlan(run_id=run_id, resumed=resumed)

    service = clean_id("service_session_id", owning_conversation_id(agent, session))
    previous: str | None = None
    service_conversation: str | None = None
    if service is not None:
        if looks_like_response_handle(service):
            previous = service
        else:
            service_conversation = service

    conversation = service_conversation or session_id
    if keep_first:
        with _lock:
            first = _weak_get(_pinned, session)
            if first is None:
                _weak_set(_pinned, session, conversation)
            else:
                conversation = first
    return RunPlan(
        run_id=run_id,
        session_id=session_id,
        conversation_id=conversation,
        previous_response_id=previous,
        resumed=resumed,
    )
