"""Record a workflow run's unfinished work on its run span: pending requests and checkpoints.

A workflow that pauses on a human-in-the-loop request, or is resumed from a checkpoint, has
work with a lifetime of its own (placement rows "workflow checkpoint id" and "pending
human-in-the-loop request ids", lifetime *unfinished work*). Those ids never enter a scope and
never cross services: they are markers on the run span that left the requests pending,
answered them, or resumed the checkpoint. An instrumentor hands what it read from the
framework to these helpers; they validate every id (a value that is not an id is dropped
with a debug log), write the attributes the two placement rows name and never raise.

Usage
-----
.. code-block:: python

    from otel_identity import record_checkpoint, record_pending_requests

    record_pending_requests(run_span, answered=responses.keys())        # the run answers them
    record_pending_requests(run_span, issued=["req-1", "req-2"])         # the run left them pending
    record_checkpoint(run_span, checkpoint_id=checkpoint_id, resumed=True)
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import trace

from otel_identity._safety import guard
from otel_identity._validation import clean_id
from otel_identity.placement import PLACEMENTS, IdentityKind

__all__ = ["MAX_PENDING_REQUEST_IDS", "record_checkpoint", "record_pending_requests"]

_PENDING = PLACEMENTS[IdentityKind.PENDING_REQUEST]
_ISSUED = _PENDING.attribute
(_ANSWERED,) = _PENDING.markers
_CHECKPOINT = PLACEMENTS[IdentityKind.CHECKPOINT]
_CHECKPOINT_ID = _CHECKPOINT.attribute
(_CHECKPOINT_RESUMED,) = _CHECKPOINT.markers

MAX_PENDING_REQUEST_IDS = 128
"""Most request ids written per attribute (the first ones, in the order given): a marker, not a log."""


def _request_ids(values: Iterable[object]) -> list[str]:
    """The valid, distinct ids of ``values`` in order (at most :data:`MAX_PENDING_REQUEST_IDS`)."""
    if isinstance(values, (str, bytes)):  # one id given where a collection was expected
        values = (values,)
    ids: dict[str, None] = {}
    for value in values:
        cleaned = clean_id("pending_request_id", value)
        if cleaned is not None:
            ids[cleaned] = None
            if len(ids) >= MAX_PENDING_REQUEST_IDS:
                break
    return list(ids)


def record_pending_requests(
    span: trace.Span,
    *,
    issued: Iterable[object] | None = None,
    answered: Iterable[object] | None = None,
) -> None:
    """Mark on a run span the human-in-the-loop requests it left pending (``issued``) and those it ``answered``.

    Each call sets the complete list given (pass all ids issued so far, not only the new
    ones); ``None`` or an empty collection leaves that attribute as it is.
    """
    with guard("record_pending_requests"):
        if not span.is_recording():
            return
        for key, values in ((_ISSUED, issued), (_ANSWERED, answered)):
            if values is None:
                continue
            ids = _request_ids(values)
            if ids and key is not None:
                span.set_attribute(key, ids)


def record_checkpoint(span: trace.Span, *, checkpoint_id: object = None, resumed: bool = False) -> None:
    """Mark on a run span that it was ``resumed`` from the workflow checkpoint ``checkpoint_id``.

    Only the id, as a marker: checkpoint content (messages, executor state) never reaches a span.
    """
    with guard("record_checkpoint"):
        if not span.is_recording():
            return
        if resumed:
            span.set_attribute(_CHECKPOINT_RESUMED, True)
        cleaned = clean_id("checkpoint_id", checkpoint_id)
        if cleaned is not None and _CHECKPOINT_ID is not None:
            span.set_attribute(_CHECKPOINT_ID, cleaned)
