"""Span attribute names that otel-identity writes, in one place.

Semantic-convention names are imported from ``opentelemetry-semantic-conventions`` where
the package defines them, so a rename upstream shows up here first. The seven
``a2a.*`` names used here and ``gen_ai.request.previous_response.id`` come from the GenAI
semantic conventions (semantic-conventions-genai, development stability; the A2A registry
lists ``a2a.method.name``, ``protocol.version``, ``tenant``, ``message.id``,
``message.reference_task_ids``, ``task.id`` and ``task.state``), which the Python package
does not ship yet. Every other name is ours and lives under ``otel_identity.*``: a
namespace the conventions own holds only the names their registry lists.

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
    "ARTIFACT_ID",
    "A2A_MESSAGE_ID",
    "A2A_METHOD_NAME",
    "A2A_REFERENCE_TASK_IDS",
    "A2A_TASK_ID",
    "AGENT_SESSION_ID",
    "TASK_PREVIOUS_STATE",
    "A2A_TASK_STATE",
    "TASK_STATE_CHANGE_EVENT",
    "CHECKPOINT_ID",
    "CHECKPOINT_RESUMED",
    "CONTINUATION_ISSUED",
    "CONTINUATION_RESUMED",
    "GEN_AI_AGENT_NAME",
    "GEN_AI_CONVERSATION_ID",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_PREVIOUS_RESPONSE_ID",
    "GEN_AI_RESPONSE_ID",
    "IDENTITY_ATTRIBUTES",
    "PARENT_RUN_ID",
    "PENDING_REQUESTS_ANSWERED",
    "PENDING_REQUESTS_ISSUED",
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
TASK_PREVIOUS_STATE: Final = "otel_identity.a2a.task.previous_state"
"""Ours. On a state-change event: the state the task left."""
TASK_STATE_CHANGE_EVENT: Final = "otel_identity.a2a.task.state_change"
"""Ours. Span event name recorded each time a task's state changes during an operation."""

# Single result.
# GEN_AI_RESPONSE_ID = "gen_ai.response.id"
A2A_MESSAGE_ID: Final = "a2a.message.id"
ARTIFACT_ID: Final = "otel_identity.a2a.artifact.id"
"""Ours (the A2A registry has no artifact attribute). The artifact an A2A update carried."""

# Request only.
A2A_REFERENCE_TASK_IDS: Final = "a2a.message.reference_task_ids"
A2A_METHOD_NAME: Final = "a2a.method.name"

# Continuation: never the raw token, only that one was issued or resumed.
CONTINUATION_ISSUED: Final = "otel_identity.continuation.issued"
CONTINUATION_RESUMED: Final = "otel_identity.continuation.resumed"

# Run correlation.
RUN_ID: Final = "otel_identity.run.id"
"""Ours. One run: generated, or the app's own per-run id (an AG-UI ``run_id``). Never the session."""
PARENT_RUN_ID: Final = "otel_identity.run.parent.id"
"""Ours. On a nested run's span (workflow participant, agent used as a tool): the run it is nested in."""
AGENT_SESSION_ID: Final = "otel_identity.agent.session.id"
"""Ours. On a nested run's span only: the nested agent's own ``AgentSession`` id (not ``session.id``,
which stays the user-facing conversation's)."""

# Unfinished work of workflows: markers on the run span that issued or resumed it.
CHECKPOINT_ID: Final = "otel_identity.workflow.checkpoint.id"
"""Ours. The workflow checkpoint a run resumed from (an id, not checkpoint content)."""
CHECKPOINT_RESUMED: Final = "otel_identity.workflow.checkpoint.resumed"
"""Ours. ``True`` on the run span of a run resumed from a checkpoint."""
PENDING_REQUESTS_ISSUED: Final = "otel_identity.workflow.pending_requests.issued"
"""Ours. Ids of the human-in-the-loop requests a run left pending (string array)."""
PENDING_REQUESTS_ANSWERED: Final = "otel_identity.workflow.pending_requests.answered"
"""Ours. Ids of the pending requests a run answered (string array)."""

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
        ARTIFACT_ID,
        A2A_REFERENCE_TASK_IDS,
        CONTINUATION_ISSUED,
        CONTINUATION_RESUMED,
        RUN_ID,
        PARENT_RUN_ID,
        AGENT_SESSION_ID,
        CHECKPOINT_ID,
        CHECKPOINT_RESUMED,
        PENDING_REQUESTS_ISSUED,
        PENDING_REQUESTS_ANSWERED,
    }
)
"""Every span attribute otel-identity may write; dashboards may query only these."""
