"""The identities of one agent run, decided by the core's lifetime rules from what a framework read.

An instrumentor reads its framework's fields (the agent's own session id, the service's
conversation handle, an id set upstream) and calls :func:`plan_run`; it never decides which
of them is the session or the conversation. The rules, each named where it is applied:

* **The outermost conversation wins** (nesting rule). A run started while a session is in
  scope (a workflow participant, an agent used as a tool, a handoff target, an A2A server
  hosting the caller's context, or any run inside a scope the app opened) keeps that
  ``session.id`` and ``gen_ai.conversation.id``. Its own session id, when different, is
  recorded on its run span only (``otel_identity.agent.session.id``), and the run it is
  nested in as ``otel_identity.run.parent.id``. It always gets its own run id.
* **An identity set explicitly upstream wins** over one we infer: a conversation a protocol
  adapter handed the framework (``upstream_conversation``) is the conversation, and a run id
  the app or an adapter opened (``run_scope``, an AG-UI ``run_id``) is the run of the first
  agent run started in it (adopted, not nested under); runs nested deeper get their own.
* **A rotating handle is not a conversation**: a response id used as the service's handle
  (``resp_*``) is the run's previous-response handle, never ``gen_ai.conversation.id``.
* **A conversation is stable for the session**: the service's stable id (``conv_*``, a
  thread id) when the session has one, else the session id; the value chosen at the first
  run of a session object in this process is kept for its later runs (pinned), so a service
  that names its conversation during the first run does not split the session in two.
* **A service-owned conversation not yet named is absent**, not replaced by a stand-in
  (``service_owned=True``: an A2A ``context_id`` before the server chose one). Such a
  conversation is not pinned: the service's value is used as soon as it exists, since the
  remote side's spans carry it too.

An app that deliberately opens a *different* session scope inside a run gets that session
for everything inside it: an explicit scope always wins.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context

from otel_identity._identities import EMPTY, get_identities
from otel_identity._recording import record_nested_run, record_request
from otel_identity._safety import guard
from otel_identity._scopes import _run_context, _session_context, new_run_id
from otel_identity._validation import clean_id

__all__ = [
    "RESPONSE_HANDLE_PREFIXES",
    "RunPlan",
    "is_rotating_handle",
    "plan_run",
    "record_run",
    "run_context",
    "sent_response_handle",
]

RESPONSE_HANDLE_PREFIXES: Final = ("resp_",)
"""Id prefixes of response-chaining services (OpenAI / Azure OpenAI Responses API): they rotate every turn."""


def is_rotating_handle(value: str) -> bool:
    """Whether a service id is a response id used as a chain handle (a new value every turn)."""
    return value.startswith(RESPONSE_HANDLE_PREFIXES)


@dataclass(frozen=True)
class RunPlan:
    """The identities of one run, decided when the run is called."""

    run_id: str
    session_id: str | None = None
    """The effective ``session.id``: the outermost conversation's."""
    conversation_id: str | None = None
    """The effective, stable ``gen_ai.conversation.id``; ``None`` while unknown."""
    previous_response_id: str | None = None
    parent_run_id: str | None = None
    """The run this one is nested in."""
    agent_session_id: str | None = None
    """A nested run's own session id, when it differs from the effective session."""

    @property
    def nested(self) -> bool:
        return self.parent_run_id is not None


_pins_lock = threading.Lock()
_pins: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
"""Conversation id chosen at a session object's first run (lost with the object)."""


def _pinned(owner: object, candidate: str) -> str:
    with _pins_lock:
        try:
            first = _pins.get(owner)
        except TypeError:  # not weak-referenceable: nothing to remember
            return candidate
        if first is not None:
            return first
        with contextlib.suppress(TypeError):
            _pins[owner] = candidate
        return candidate


def plan_run(
    *,
    session_id: object = None,
    service_conversation: object = None,
    owner: object = None,
    service_owned: bool = False,
    upstream_conversation: object = None,
    run_id: object = None,
    context: Context | None = None,
) -> RunPlan:
    """Decide the identities of a run from what the framework says about it (values are cleaned here).

    Args:
        session_id: the agent's own session id (``AgentSession.session_id``).
        service_conversation: the service's handle for the conversation as the owning agent
            reads it (may be a rotating ``resp_*``).
        owner: the session object, to keep a conversation stable across its runs.
        service_owned: the conversation is the remote service's to name (A2A).
        upstream_conversation: a conversation set explicitly upstream (a protocol adapter's).
        run_id: the app's own run id (an AG-UI ``run_id``); generated when not given.
        context: where the run starts (default: the current context).
    """
    own_session = clean_id("session_id", session_id)
    service = clean_id("service_conversation", service_conversation)
    upstream = clean_id("upstream_conversation", upstream_conversation)
    previous = service if service is not None and is_rotating_handle(service) else None
    stable = service if previous is None else None
    outer = get_identities(context) or EMPTY
    adopted = outer.run_id if outer.run_opened_explicitly else None
    run = clean_id("run_id", run_id) or adopted or new_run_id()
    parent = None if adopted is not None and run == adopted else outer.run_id

    if outer.session_id is not None:  # the outermost conversation wins
        return RunPlan(
            run_id=run,
            session_id=outer.session_id,
            conversation_id=upstream or outer.conversation_id,
            previous_response_id=previous,
            parent_run_id=parent,
            agent_session_id=own_session if own_session != outer.session_id else None,
        )
    if upstream is not None:  # set explicitly upstream: wins over what we infer
        conversation: str | None = upstream
    elif service_owned:  # the service's to name: absent until it has
        conversation = stable
    elif own_session is not None:
        conversation = _pinned(owner, stable or own_session) if owner is not None else stable or own_session
    else:
        conversation = stable
    return RunPlan(
        run_id=run,
        session_id=own_session,
        conversation_id=conversation,
        previous_response_id=previous,
        parent_run_id=parent,
    )


def sent_response_handle(value: object, context: Context | None = None) -> str | None:
    """The response-chain handle a request sends, if ``value`` is one: a rotating handle, or the run's own."""
    cleaned = clean_id("previous_response_id", value)
    if cleaned is None:
        return None
    if is_rotating_handle(cleaned):
        return cleaned
    identities = get_identities(context)
    return cleaned if identities is not None and identities.previous_response_id == cleaned else None


def run_context(plan: RunPlan, context: Context | None = None) -> Context:
    """``context`` (default: current) with the run's identities in scope."""
    if plan.session_id is not None:
        context = _session_context(plan.session_id, None, plan.conversation_id, context, stand_in=False)
    return _run_context(plan.run_id, plan.previous_response_id, context, explicit=False)


def record_run(span: trace.Span, plan: RunPlan) -> None:
    """Put on the run span what belongs to it only: the handle it sent, and what makes it nested."""
    with guard("record_run"):
        if not span.is_recording():
            return
        record_request(span, previous_response_id=plan.previous_response_id)
        record_nested_run(span, parent_run_id=plan.parent_run_id, agent_session_id=plan.agent_session_id)
