"""Record the identities that belong to one span only: single results, request fields, run facts, continuations.

These never enter a scope (placement rows stamped ``OWN_SPAN``, ``RUN_SPAN`` and
``MARKER_ONLY``), so an instrumentor hands them to these helpers with the span of the
operation that produced or carried them; the attribute each becomes is the row's. Raw
continuation tokens never reach an attribute: only the fact that one was issued or resumed,
and the ids inside it, each by its own row. Every helper validates what it is given (a value
that is not an id is dropped with a debug log) and never raises.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace

from otel_identity._safety import guard
from otel_identity._validation import clean_id
from otel_identity.placement import PLACEMENTS, IdentityKind, Stamp

__all__ = ["record_continuation", "record_nested_run", "record_request", "record_result"]

_RECORDED_STAMPS = (Stamp.OWN_SPAN, Stamp.RUN_SPAN, Stamp.SCOPE_CHAT)


def _attribute(kind: IdentityKind) -> str:
    row = PLACEMENTS[kind]
    if row.attribute is None or row.stamp not in _RECORDED_STAMPS:
        raise ValueError(f"{kind.value} is placed by scopes or markers, not recorded on one span")
    return row.attribute


def _set_ids(span: trace.Span, *entries: tuple[IdentityKind, str, object]) -> None:
    """Set each ``(kind, argument name, value)`` whose value is a valid id as its row's attribute."""
    for kind, name, value in entries:
        cleaned = clean_id(name, value)
        if cleaned is not None:
            span.set_attribute(_attribute(kind), cleaned)


def record_result(
    span: trace.Span,
    *,
    response_id: object = None,
    message_id: object = None,
    artifact_id: object = None,
) -> None:
    """Put single-result ids on ``span`` (the span of the operation that produced them)."""
    with guard("record_result"):
        if not span.is_recording():
            return
        _set_ids(
            span,
            (IdentityKind.RESPONSE, "response_id", response_id),
            (IdentityKind.MESSAGE, "message_id", message_id),
            (IdentityKind.ARTIFACT, "artifact_id", artifact_id),
        )


def record_request(
    span: trace.Span,
    *,
    reference_task_ids: Sequence[object] | None = None,
    previous_response_id: object = None,
) -> None:
    """Put what one request sent on ``span``: request-only fields and the response-chain handle it used."""
    with guard("record_request"):
        if not span.is_recording():
            return
        _set_ids(span, (IdentityKind.PREVIOUS_RESPONSE, "previous_response_id", previous_response_id))
        if not reference_task_ids:
            return
        ids = [cleaned for value in reference_task_ids if (cleaned := clean_id("reference_task_id", value))]
        if ids:
            span.set_attribute(_attribute(IdentityKind.REFERENCE_TASKS), ids)


def record_nested_run(span: trace.Span, *, parent_run_id: object = None, agent_session_id: object = None) -> None:
    """Put what makes a run nested on its run span: the run it is nested in and the agent's own session."""
    with guard("record_nested_run"):
        if not span.is_recording():
            return
        _set_ids(
            span,
            (IdentityKind.PARENT_RUN, "parent_run_id", parent_run_id),
            (IdentityKind.AGENT_SESSION, "agent_session_id", agent_session_id),
        )


def record_continuation(
    span: trace.Span,
    *,
    issued: bool = False,
    resumed: bool = False,
    response_id: object = None,
    task_id: object = None,
    conversation_id: object = None,
) -> None:
    """Mark that a continuation token was issued and/or resumed; place the ids inside it by their rows.

    Pass the ids you read from the token, never the token: the token itself is a secret
    that can resume someone's work. The task and conversation a token names go on this span
    only (the run span of the run that issued or resumed it), not into any scope.
    """
    with guard("record_continuation"):
        if not span.is_recording():
            return
        issued_marker, resumed_marker = PLACEMENTS[IdentityKind.CONTINUATION_TOKEN].markers
        if issued:
            span.set_attribute(issued_marker, True)
        if resumed:
            span.set_attribute(resumed_marker, True)
        _set_ids(span, (IdentityKind.RESPONSE, "response_id", response_id))
        # Scope rows, written on this one span: the token's task and conversation are not in scope here.
        for kind, name, value in (
            (IdentityKind.TASK, "task_id", task_id),
            (IdentityKind.CONVERSATION, "conversation_id", conversation_id),
        ):
            key = PLACEMENTS[kind].attribute
            if key is not None and (cleaned := clean_id(name, value)) is not None:
                span.set_attribute(key, cleaned)
