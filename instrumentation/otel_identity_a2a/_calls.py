"""What client and server spans of one A2A call share: their start attributes and their operation.

The operation (:class:`otel_identity.instrumentation.Operation`) is the core's: it places the
ids this module reads from the request and from each response or event by the placement
table, records task state changes for the methods that move a task, and ends the span ERROR
when the task ended ``TASK_STATE_FAILED`` / ``TASK_STATE_REJECTED``.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from otel_identity import attributes as attr
from otel_identity.instrumentation import Operation, TaskListener, guard, identity_attributes
from otel_identity_a2a import attributes as a2a_attr
from otel_identity_a2a._methods import STATE_EVENTS
from otel_identity_a2a._protocol import ERROR_STATES, RequestFacts, observe

__all__ = ["call_attributes", "start_operation"]


def call_attributes(method: str, facts: RequestFacts) -> dict[str, AttributeValue]:
    """Attributes to start a call's span with: its method and the identities the request names.

    Given at creation so the identity processor does not stamp the caller's own conversation.
    """
    return {
        attr.A2A_METHOD_NAME: method,
        **identity_attributes(conversation_id=facts.context_id, task_id=facts.task_id),
    }


def start_operation(
    span: trace.Span, method: str, facts: RequestFacts, *, on_task: TaskListener | None = None
) -> Operation:
    """The operation of one call on ``span``, with what the request carried recorded on it."""
    operation = Operation(
        span,
        read=observe,
        records_state_changes=method in STATE_EVENTS,
        error_states=ERROR_STATES,
        on_task=on_task,
    )
    with guard("a2a record_request"):
        if facts.task_id is not None:
            operation.bind_task(facts.task_id)
        if facts.context_id is not None:
            operation.set_conversation(facts.context_id)
        operation.record_request(message_id=facts.message_id, reference_task_ids=facts.reference_task_ids)
        if facts.tenant is not None and span.is_recording():
            span.set_attribute(a2a_attr.A2A_TENANT, facts.tenant)
    return operation
