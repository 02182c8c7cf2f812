"""Span attribute names that otel-identity writes, in one place.

Semantic-convention names are imported from ``opentelemetry-semantic-conventions`` where
the package defines them, so a rename upstream shows up here first. A2A names and
``gen_ai.request.previous_response.id`` come from the GenAI semantic conventions
(semantic-conventions-genai, development stability), which the Python package does not
ship yet. ``otel_identity.*`` names are ours: no convention covers them.

Dashboards, tests and instrumentors import from here, never spell the strings again.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_AGENT_NAME,
    GEN_AI_CONVERSATION_ID,
    GEN_AI_OPERATION_NAME,
    GEN_AI_RESPONSE_ID,
)
from opentelemetry.semconv._incubating.attributes.session_attributes import SESSION_ID
from opentelemetry.semconv._incubating.attributes.user_attributes import USER_ID

__all__ = [
    "A2A_ARTIFACT_ID",
    "A2A_MESSAGE_ID",
    "A2A_METHOD_NAME",
    "A2A_REFERENCE_TASK_IDS",
    "A2A_TASK_ID",
    "A2A_TASK_PREVIOUS_STATE",
    "A2A_TASK_STATE",
    "A2A_TASK_STATE_EVENT",
    "CONTINUATION_ISSUED",
    "CONTINUATION_RESUMED",
    "GEN_AI_AGENT_NAME",
    "GEN_AI_CONVERSATION_ID",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_PREVIOUS_RESPONSE_ID",
    "GEN_AI_RESPONSE_ID",
    "IDENTITY_ATTRIBUTES",
    "RUN_ID",
    "SESSION_ID",
    "USER_ID",
]

# Durable session.
# SESSION_ID = "session.id"; USER_ID = "user.id"; GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_PREVIOUS_RESPONSE_ID: Final = "gen_ai.request.previous_response.id"
"""The rotating response-chain handle a run sent as ``previous_response_id``."""

# Task (durable while unfinished).
A2A_TASK_ID: Final = "a2a.task.id"
A2A_TASK_STATE: Final = "a2a.task.state"
"""Task state by its A2A v1 wire name, e.g. ``TASK_STATE_INPUT_REQUIRED``."""
A2A_TASK_PREVIOUS_STATE: Final = "a2a.task.previous_state"
"""On a state-change event: the state the task left."""
A2A_TASK_STATE_EVENT: Final = "a2a.task.state_change"
"""Span event name recorded each time a task's state changes during an operation."""

# Single result.
# GEN_AI_RESPONSE_ID = "gen_ai.response.id"
A2A_MESSAGE_ID: Final = "a2a.message.id"
A2A_ARTIFACT_ID: Final = "a2a.artifact.id"

# Request only.
A2A_REFERENCE_TASK_IDS: Final = "a2a.message.reference_task_ids"
A2A_METHOD_NAME: Final = "a2a.method.name"

# Continuation: never the raw token, only that one was issued or resumed.
CONTINUATION_ISSUED: Final = "otel_identity.continuation.issued"
CONTINUATION_RESUMED: Final = "otel_identity.continuation.resumed"

# Run correlation.
RUN_ID: Final = "otel_identity.run.id"

IDENTITY_ATTRIBUTES: Final[frozenset[str]] = frozenset(
    {
        SESSION_ID,
        USER_ID,
        GEN_AI_CONVERSATION_ID,
        GEN_AI_PREVIOUS_RESPONSE_ID,
        A2A_TASK_ID,
        A2A_TASK_STATE,
        GEN_AI_RESPONSE_ID,
        A2A_MESSAGE_ID,
        A2A_ARTIFACT_ID,
        A2A_REFERENCE_TASK_IDS,
        CONTINUATION_ISSUED,
        CONTINUATION_RESUMED,
        RUN_ID,
    }
)
"""Every span attribute otel-identity may write; dashboards may query only these."""
