"""Record the identities that belong to one span only: single results, request fields, continuations.

These never enter a scope (see :mod:`otel_identity.placement`), so an instrumentor records
them on the span of the operation that produced or carried them, through these helpers.
Raw continuation tokens never reach an attribute: only the fact that one was issued or
resumed, and the ids inside it, each by its own row.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace

from otel_identity import attributes as attr
from otel_identity._safety import guard
from otel_identity._validation import clean_id

__all__ = ["record_continuation", "record_request", "record_result"]


def _set_ids(span: trace.Span, *entries: tuple[str, str, object]) -> None:
    """Set each ``(argument name, attribute, value)`` whose value is a valid id; log the rest at debug."""
    for name, key, value in entries:
        cleaned = clean_id(name, value)
        if cleaned is not None:
            span.set_attribute(key, cleaned)


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
            ("response_id", attr.GEN_AI_RESPONSE_ID, response_id),
            ("message_id", attr.A2A_MESSAGE_ID, message_id),
            ("artifact_id", attr.ARTIFACT_ID, artifact_id),
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
        if (previous := clean_id("previous_response_id", previous_response_id)) is not None:
            span.set_attribute(attr.GEN_AI_PREVIOUS_RESPONSE_ID, previous)
        if not reference_task_ids:
            return
        ids = [cleaned for value in reference_task_ids if (cleaned := clean_id("reference_task_id", value))]
        if ids:
            span.set_attribute(attr.A2A_REFERENCE_TASK_IDS, ids)


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
    that can resume someone's work.
    """
    with guard("record_continuation"):
        if not span.is_recording():
            return
        if issued:
            span.set_attribute(attr.CONTINUATION_ISSUED, True)
        if resumed:
            span.set_attribute(attr.CONTINUATION_RESUMED, True)
        _set_ids(
            span,
            ("response_id", attr.GEN_AI_RESPONSE_ID, response_id),
            ("task_id", attr.A2A_TASK_ID, task_id),
            ("conversation_id", attr.GEN_AI_CONVERSATION_ID, conversation_id),
        )
