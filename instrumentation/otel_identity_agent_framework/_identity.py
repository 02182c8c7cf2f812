"""Which identities a run of an agent-framework agent has: the framework's fields, handed to the core.

This module only reads the framework: ``session.session_id`` (the agent's own session),
the owning agent's reading of its ``service_session_id`` (a stable conversation, or a
rotating ``resp_*``), a conversation set upstream through the framework's telemetry
context variable, and the ids inside a continuation token. Which of them becomes
``session.id``, ``gen_ai.conversation.id`` or the previous-response handle, and what a
nested run keeps, is the core's decision (:func:`otel_identity.instrumentation.plan_run`).

No state is written into the session: its serialization stays the framework's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry import trace

from otel_identity import record_continuation
from otel_identity.instrumentation import RunPlan, clean_id, plan_run
from otel_identity_agent_framework._framework import owning_conversation_id, upstream_conversation

__all__ = ["ContinuationFacts", "plan_agent_run"]


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

    def record(self, span: trace.Span, *, issued: bool = False, resumed: bool = False) -> None:
        """Mark on ``span`` that the token was issued or resumed, with the ids inside it (never the token)."""
        record_continuation(
            span,
            issued=issued,
            resumed=resumed,
            response_id=self.response_id,
            task_id=self.task_id,
            conversation_id=self.context_id,
        )


def plan_agent_run(agent: object, session: object, *, service_owned: bool = False) -> RunPlan:
    """The core's plan for a run of ``agent`` with ``session`` (which may be ``None``), read before it changes.

    ``service_owned``: the conversation is the remote service's to name (A2A ``context_id``).
    """
    return plan_run(
        session_id=getattr(session, "session_id", None) if session is not None else None,
        service_conversation=owning_conversation_id(agent, session) if session is not None else None,
        owner=session,
        service_owned=service_owned,
        upstream_conversation=upstream_conversation(),
    )
