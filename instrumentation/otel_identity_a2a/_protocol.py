"""What a2a-sdk 1.x protocol objects say about identity: the one place that reads its protobufs.

Requests name the ids the caller already knows (message, task, ``context_id``, reference tasks,
tenant). Responses and stream events carry the ids the server generated and the task's state.
Every value read here goes through :func:`otel_identity._validation.clean_id`: a peer's ids are
untrusted input and a malformed one is dropped, never raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from a2a.types import a2a_pb2 as pb
from opentelemetry.util.types import AttributeValue

from otel_identity import attributes as attr
from otel_identity.instrumentation import Observed, clean_id
from otel_identity_a2a import attributes as a2a_attr

__all__ = [
    "ERROR_STATES",
    "Observed",
    "RequestFacts",
    "agent_card_attributes",
    "header",
    "interface_for",
    "observe",
    "request_facts",
    "state_name",
]

ERROR_STATES: Final = frozenset({"TASK_STATE_FAILED", "TASK_STATE_REJECTED"})
"""Task states that make the span of the call that reported them ERROR.

``TASK_STATE_CANCELED`` is not among them: a cancellation is an outcome someone asked for.
"""

_TASK_SCOPED_BY_ID: Final = (pb.GetTaskRequest, pb.CancelTaskRequest, pb.SubscribeToTaskRequest)
_TASK_SCOPED_BY_TASK_ID: Final = (
    pb.TaskPushNotificationConfig,
    pb.GetTaskPushNotificationConfigRequest,
    pb.DeleteTaskPushNotificationConfigRequest,
    pb.ListTaskPushNotificationConfigsRequest,
)


@dataclass(frozen=True)
class RequestFacts:
    """Identities a request names before the server answers."""

    message_id: str | None = None
    task_id: str | None = None
    context_id: str | None = None
    reference_task_ids: tuple[str, ...] = ()
    tenant: str | None = None


def state_name(value: object) -> str | None:
    """A ``TaskState`` number by its v1 wire name (``TASK_STATE_WORKING``); ``None`` if unspecified or unknown."""
    if not isinstance(value, int) or value == pb.TaskState.TASK_STATE_UNSPECIFIED:
        return None
    try:
        return str(pb.TaskState.Name(value))
    except ValueError:
        return None


def request_facts(request: object) -> RequestFacts:
    """What ``request`` (any a2a-sdk 1.x request message) says about identity."""
    tenant = clean_id("tenant", getattr(request, "tenant", None) or None)
    if isinstance(request, pb.SendMessageRequest):
        message = request.message
        return RequestFacts(
            message_id=clean_id("message_id", message.message_id or None),
            task_id=clean_id("task_id", message.task_id or None),
            context_id=clean_id("context_id", message.context_id or None),
            reference_task_ids=tuple(message.reference_task_ids),
            tenant=tenant,
        )
    if isinstance(request, _TASK_SCOPED_BY_ID):
        return RequestFacts(task_id=clean_id("task_id", request.id or None), tenant=tenant)
    if isinstance(request, _TASK_SCOPED_BY_TASK_ID):
        return RequestFacts(task_id=clean_id("task_id", request.task_id or None), tenant=tenant)
    if isinstance(request, pb.ListTasksRequest):
        return RequestFacts(context_id=clean_id("context_id", request.context_id or None), tenant=tenant)
    return RequestFacts(tenant=tenant)


def observe(item: object) -> Observed | None:
    """Ids and state carried by a response or event; ``None`` when it carries none.

    Understands the client's wrappers (``SendMessageResponse``, ``StreamResponse``) and the
    server's bare events (``Task``, ``Message``, ``TaskStatusUpdateEvent``,
    ``TaskArtifactUpdateEvent``), and push-notification configs (task-scoped).
    """
    if isinstance(item, (pb.SendMessageResponse, pb.StreamResponse)):
        payload = item.WhichOneof("payload")
        return observe(getattr(item, payload)) if payload else None
    if isinstance(item, pb.Task):
        return Observed(
            task_id=clean_id("task_id", item.id or None),
            conversation_id=clean_id("context_id", item.context_id or None),
            state=state_name(item.status.state),
        )
    if isinstance(item, pb.TaskStatusUpdateEvent):
        return Observed(
            task_id=clean_id("task_id", item.task_id or None),
            conversation_id=clean_id("context_id", item.context_id or None),
            state=state_name(item.status.state),
        )
    if isinstance(item, (pb.Message, pb.TaskArtifactUpdateEvent)):
        return Observed(
            task_id=clean_id("task_id", item.task_id or None),
            conversation_id=clean_id("context_id", item.context_id or None),
        )
    if isinstance(item, pb.TaskPushNotificationConfig):
        return Observed(task_id=clean_id("task_id", item.task_id or None))
    return None


def agent_card_attributes(card: object) -> dict[str, AttributeValue]:
    """``gen_ai.agent.*`` from an ``AgentCard`` (name, description, version), skipping empty fields."""
    if not isinstance(card, pb.AgentCard):
        return {}
    found: dict[str, AttributeValue] = {}
    for key, value in (
        (attr.GEN_AI_AGENT_NAME, card.name),
        (a2a_attr.GEN_AI_AGENT_DESCRIPTION, card.description),
        (a2a_attr.GEN_AI_AGENT_VERSION, card.version),
    ):
        if value:
            found[key] = value
    return found


def interface_for(card: object, url: str | None, binding: str | None = None) -> Any:
    """The card's ``AgentInterface`` serving ``url`` (or the first with ``binding``); ``None`` if none."""
    if not isinstance(card, pb.AgentCard):
        return None
    fallback = None
    for interface in card.supported_interfaces:
        if url is not None and interface.url.rstrip("/") == url.rstrip("/"):
            return interface
        if fallback is None and binding is not None and interface.protocol_binding == binding:
            fallback = interface
    return fallback


def header(carrier: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value from a lowercase-keyed carrier, case-insensitively."""
    if not carrier:
        return None
    value = carrier.get(name.lower())
    if value is None:
        value = carrier.get(name)
    return value if isinstance(value, str) and value else None
