"""The placement table: where each identity goes, decided by its lifetime.

This module is the contract of ``shared/reference/identity-lifetimes.md`` as data. The span
processor, the scopes, the recording helpers and the baggage propagator all read it; no
instrumentor decides a placement on its own. To learn "where does a task id go", read
:data:`PLACEMENTS`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from otel_identity import attributes as attr

__all__ = ["PLACEMENTS", "IdentityKind", "Lifetime", "Placement", "Stamp"]


class Lifetime(enum.Enum):
    """How long an identity stays valid; the only input to its placement."""

    DURABLE_SESSION = "durable_session"
    """The conversation: lives across runs."""
    ROTATING_HANDLE = "rotating_handle"
    """Durable, but a new value each turn (``resp_*`` used as ``previous_response_id``)."""
    TASK = "task"
    """An A2A task: durable while it is not in a terminal state."""
    SINGLE_RESULT = "single_result"
    """Belongs to one response: response id, message id, artifact id."""
    REQUEST = "request"
    """Caller intent for one request only (``reference_task_ids``)."""
    CONTINUATION = "continuation"
    """Resumes in-progress work; opaque and sensitive."""
    RUN = "run"
    """One run; never the session."""


class Stamp(enum.Enum):
    """Which spans an identity is written to."""

    SCOPE = "scope"
    """Every span started while its scope is open, whatever instrumentation starts it."""
    SCOPE_CHAT = "scope_chat"
    """The run span (recorded explicitly) and chat spans started in the run's scope."""
    OWN_SPAN = "own_span"
    """Only the span of the operation that produced or carried it, recorded explicitly."""
    MARKER_ONLY = "marker_only"
    """Never the value: only the fact that one was issued or resumed, on the run span."""


class IdentityKind(enum.Enum):
    """Every identity otel-identity knows about."""

    SESSION = "session"
    USER = "user"
    CONVERSATION = "conversation"
    PREVIOUS_RESPONSE = "previous_response"
    TASK = "task"
    TASK_STATE = "task_state"
    RESPONSE = "response"
    MESSAGE = "message"
    ARTIFACT = "artifact"
    REFERENCE_TASKS = "reference_tasks"
    CONTINUATION_TOKEN = "continuation_token"
    RUN = "run"


@dataclass(frozen=True)
class Placement:
    """One row of the table."""

    kind: IdentityKind
    lifetime: Lifetime
    attribute: str | None
    """Span attribute it is written as; ``None`` where the value itself is never written."""
    stamp: Stamp
    in_process_scope: bool
    """Whether it lives in the OpenTelemetry Context for the duration of a scope."""
    baggage: bool
    """Whether it may cross services in W3C baggage (to trusted destinations only)."""
    baggage_opt_in: bool = False
    """Whether crossing services additionally needs the app's explicit opt-in."""


_ROWS: Final = (
    Placement(IdentityKind.SESSION, Lifetime.DURABLE_SESSION, attr.SESSION_ID, Stamp.SCOPE, True, True),
    Placement(IdentityKind.USER, Lifetime.DURABLE_SESSION, attr.USER_ID, Stamp.SCOPE, True, True, True),
    Placement(
        IdentityKind.CONVERSATION, Lifetime.DURABLE_SESSION, attr.GEN_AI_CONVERSATION_ID, Stamp.SCOPE, True, False
    ),
    Placement(
        IdentityKind.PREVIOUS_RESPONSE,
        Lifetime.ROTATING_HANDLE,
        attr.GEN_AI_PREVIOUS_RESPONSE_ID,
        Stamp.SCOPE_CHAT,
        False,
        False,
    ),
    Placement(IdentityKind.TASK, Lifetime.TASK, attr.A2A_TASK_ID, Stamp.SCOPE, True, False),
    Placement(IdentityKind.TASK_STATE, Lifetime.TASK, attr.A2A_TASK_STATE, Stamp.SCOPE, True, False),
    Placement(IdentityKind.RESPONSE, Lifetime.SINGLE_RESULT, attr.GEN_AI_RESPONSE_ID, Stamp.OWN_SPAN, False, False),
    Placement(IdentityKind.MESSAGE, Lifetime.SINGLE_RESULT, attr.A2A_MESSAGE_ID, Stamp.OWN_SPAN, False, False),
    Placement(IdentityKind.ARTIFACT, Lifetime.SINGLE_RESULT, attr.ARTIFACT_ID, Stamp.OWN_SPAN, False, False),
    Placement(
        IdentityKind.REFERENCE_TASKS, Lifetime.REQUEST, attr.A2A_REFERENCE_TASK_IDS, Stamp.OWN_SPAN, False, False
    ),
    Placement(IdentityKind.CONTINUATION_TOKEN, Lifetime.CONTINUATION, None, Stamp.MARKER_ONLY, False, False),
    Placement(IdentityKind.RUN, Lifetime.RUN, attr.RUN_ID, Stamp.SCOPE, True, False),
)

PLACEMENTS: Final[Mapping[IdentityKind, Placement]] = MappingProxyType({row.kind: row for row in _ROWS})
"""The placement table, keyed by identity kind."""
