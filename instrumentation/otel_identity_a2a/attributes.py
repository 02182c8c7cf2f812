"""Span attribute and span names this instrumentor writes beyond :mod:`otel_identity.attributes`.

Identity attributes (``a2a.task.id``, ``gen_ai.conversation.id``, ``a2a.message.id`` ...) come
from :mod:`otel_identity.attributes`; the core decides where they go. The names here describe the
A2A call itself. ``a2a.protocol.version`` and ``a2a.tenant`` are from the GenAI A2A conventions
(development stability), which the Python semantic-conventions package does not ship yet; the rest
are imported from ``opentelemetry-semantic-conventions``.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_AGENT_DESCRIPTION,
    GEN_AI_AGENT_VERSION,
)
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT

__all__ = [
    "A2A_PROTOCOL_VERSION",
    "A2A_TENANT",
    "ERROR_TYPE",
    "GEN_AI_AGENT_DESCRIPTION",
    "GEN_AI_AGENT_VERSION",
    "LINK_ROLE",
    "PUSH_NOTIFICATION_SPAN",
    "SERVER_ADDRESS",
    "SERVER_PORT",
]

A2A_PROTOCOL_VERSION: Final = "a2a.protocol.version"
"""A2A protocol version of the call (``1.0``): the interface's, or the ``A2A-Version`` header's."""

A2A_TENANT: Final = "a2a.tenant"
"""Tenant the request is addressed to, when set."""

PUSH_NOTIFICATION_SPAN: Final = "PushNotification"
"""Name of the PRODUCER span around one push-notification delivery (no A2A method covers it)."""

LINK_ROLE: Final = "otel_identity.link.role"
"""On a span link: ``task_origin`` (the span that started the task) or ``task_latest`` (the last one that ran it)."""
