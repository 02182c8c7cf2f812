"""The placement table: where each identity goes, decided by its lifetime.

This module is the contract of ``shared/reference/identity-lifetimes.md`` as data, and the
code reads it: the identities a scope stamps on spans and log records
(:meth:`otel_identity.Identities.span_attributes`), the keys the baggage propagator may send
and accept, the ids the recording helpers write on one span, and the table in the README
(:func:`markdown_table`) are all derived from :data:`PLACEMENTS`. To learn "where does a task
id go", read :data:`ROWS`; to change it, change the row: ``tests/core/test_placement.py`` has
one case per row and checks the behaviour against the row.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from otel_identity import attributes as attr

__all__ = [
    "BAGGAGE_KEYS",
    "PLACEMENTS",
    "ROWS",
    "Baggage",
    "IdentityKind",
    "Lifetime",
    "Placement",
    "Stamp",
    "markdown_table",
    "rows_stamped",
]


class Lifetime(enum.Enum):
    """How long an identity stays valid; the only input to its placement."""

    DURABLE_SESSION = "durable session"
    """The conversation: lives across runs."""
    ROTATING_HANDLE = "durable, rotates each turn"
    """Durable, but a new value each turn (``resp_*`` used as ``previous_response_id``)."""
    TASK = "task (until terminal)"
    """An A2A task: durable while it is not in a terminal state."""
    SINGLE_RESULT = "single result"
    """Belongs to one response: response id, message id, artifact id."""
    REQUEST = "one request"
    """Caller intent for one request only (``reference_task_ids``)."""
    CONTINUATION = "in-progress work"
    """Resumes in-progress work; opaque and sensitive."""
    UNFINISHED_WORK = "unfinished work"
    """A workflow checkpoint or a pending human-in-the-loop request: resumes later, not secret."""
    RUN = "one run"
    """One run; never the session."""
    AGENT_STATE = "that agent's state"
    """A nested agent's own session: state of that agent, not the user's conversation."""


class Stamp(enum.Enum):
    """Which spans (and log records) an identity is written to."""

    SCOPE = "every span and log record started in its scope, from any instrumentation"
    """Every span and log record started while its scope is open, whatever instrumentation starts it."""
    SCOPE_CHAT = "the run span and the chat spans in the run's scope"
    """The run span (recorded explicitly) and chat spans started in the run's scope; not logs."""
    OWN_SPAN = "only the span of the operation that produced or carried it"
    """Only the span of the operation that produced or carried it, recorded explicitly."""
    RUN_SPAN = "only the run span"
    """Only the span of the run it describes, recorded explicitly."""
    MARKER_ONLY = "never the value: markers on the run span"
    """Never the value: only the fact that one was issued or resumed, on the run span."""


class Baggage(enum.Enum):
    """Whether an identity may cross services in W3C baggage."""

    NEVER = "no"
    TRUSTED = "trusted peers only"
    """To trusted destinations only; the receiving side validates it and a hook decides."""
    TRUSTED_OPT_IN = "trusted peers only, opt-in"
    """As ``TRUSTED``, and only when the app opted in (personal data)."""


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
    PARENT_RUN = "parent_run"
    AGENT_SESSION = "agent_session"
    CHECKPOINT = "checkpoint"
    PENDING_REQUEST = "pending_request"


@dataclass(frozen=True)
class Placement:
    """One row of the table."""

    kind: IdentityKind
    identity: str
    """What the identity is, in the words of the docs table."""
    lifetime: Lifetime
    attribute: str | None
    """Span attribute it is written as; ``None`` where the value itself is never written."""
    stamp: Stamp
    field: str | None = None
    """The :class:`~otel_identity.Identities` attribute holding it while in scope; ``None``: never in scope."""
    dynamic: bool = False
    """Changes while its scope is open (a task's state): read per span, not cached per scope."""
    baggage: Baggage = Baggage.NEVER
    markers: tuple[str, ...] = ()
    """Attributes written instead of (``MARKER_ONLY``) or beside the value."""
    ours: bool = False
    """The attribute name is otel-identity's, not the semantic conventions'."""

    @property
    def in_process_scope(self) -> bool:
        """Whether it lives in the OpenTelemetry Context for the duration of a scope."""
        return self.field is not None


ROWS: Final[tuple[Placement, ...]] = (
    Placement(
        IdentityKind.SESSION,
        "local session id (`AgentSession.session_id`, or given by the app)",
        Lifetime.DURABLE_SESSION,
        attr.SESSION_ID,
        Stamp.SCOPE,
        field="session_id",
        baggage=Baggage.TRUSTED,
    ),
    Placement(
        IdentityKind.USER,
        "user id (given by the app)",
        Lifetime.DURABLE_SESSION,
        attr.USER_ID,
        Stamp.SCOPE,
        field="user_id",
        baggage=Baggage.TRUSTED_OPT_IN,
    ),
    Placement(
        IdentityKind.CONVERSATION,
        "conversation id (stable: the service's, else the session id; absent while a service has not named it)",
        Lifetime.DURABLE_SESSION,
        attr.GEN_AI_CONVERSATION_ID,
        Stamp.SCOPE,
        field="conversation_id",
    ),
    Placement(
        IdentityKind.PREVIOUS_RESPONSE,
        "response-chain handle (`resp_*` used as `previous_response_id`)",
        Lifetime.ROTATING_HANDLE,
        attr.GEN_AI_PREVIOUS_RESPONSE_ID,
        Stamp.SCOPE_CHAT,
        field="previous_response_id",
    ),
    Placement(
        IdentityKind.TASK,
        "A2A task id",
        Lifetime.TASK,
        attr.A2A_TASK_ID,
        Stamp.SCOPE,
        field="task_id",
    ),
    Placement(
        IdentityKind.TASK_STATE,
        "A2A task state (by name; changes as span events)",
        Lifetime.TASK,
        attr.A2A_TASK_STATE,
        Stamp.SCOPE,
        field="task_state",
        dynamic=True,
        markers=(attr.TASK_STATE_CHANGE_EVENT, attr.TASK_PREVIOUS_STATE),
    ),
    Placement(
        IdentityKind.RESPONSE,
        "response id",
        Lifetime.SINGLE_RESULT,
        attr.GEN_AI_RESPONSE_ID,
        Stamp.OWN_SPAN,
    ),
    Placement(
        IdentityKind.MESSAGE,
        "A2A message id",
        Lifetime.SINGLE_RESULT,
        attr.A2A_MESSAGE_ID,
        Stamp.OWN_SPAN,
    ),
    Placement(
        IdentityKind.ARTIFACT,
        "A2A artifact id",
        Lifetime.SINGLE_RESULT,
        attr.ARTIFACT_ID,
        Stamp.OWN_SPAN,
        ours=True,
    ),
    Placement(
        IdentityKind.REFERENCE_TASKS,
        "request-only fields (`reference_task_ids`)",
        Lifetime.REQUEST,
        attr.A2A_REFERENCE_TASK_IDS,
        Stamp.OWN_SPAN,
    ),
    Placement(
        IdentityKind.CONTINUATION_TOKEN,
        "continuation token (never raw; the ids inside it by their own rows)",
        Lifetime.CONTINUATION,
        None,
        Stamp.MARKER_ONLY,
        markers=(attr.CONTINUATION_ISSUED, attr.CONTINUATION_RESUMED),
        ours=True,
    ),
    Placement(
        IdentityKind.RUN,
        "run id (generated, or the app's own such as an AG-UI `run_id`)",
        Lifetime.RUN,
        attr.RUN_ID,
        Stamp.SCOPE,
        field="run_id",
        ours=True,
    ),
    Placement(
        IdentityKind.PARENT_RUN,
        "the run a nested run is nested in",
        Lifetime.RUN,
        attr.PARENT_RUN_ID,
        Stamp.RUN_SPAN,
        ours=True,
    ),
    Placement(
        IdentityKind.AGENT_SESSION,
        "a nested run's own session (a workflow participant's or agent-as-tool's `AgentSession`)",
        Lifetime.AGENT_STATE,
        attr.AGENT_SESSION_ID,
        Stamp.RUN_SPAN,
        ours=True,
    ),
    Placement(
        IdentityKind.CHECKPOINT,
        "workflow checkpoint id",
        Lifetime.UNFINISHED_WORK,
        attr.CHECKPOINT_ID,
        Stamp.RUN_SPAN,
        markers=(attr.CHECKPOINT_RESUMED,),
        ours=True,
    ),
    Placement(
        IdentityKind.PENDING_REQUEST,
        "pending human-in-the-loop request ids (issued by one run, answered by a later one)",
        Lifetime.UNFINISHED_WORK,
        attr.PENDING_REQUESTS_ISSUED,
        Stamp.RUN_SPAN,
        markers=(attr.PENDING_REQUESTS_ANSWERED,),
        ours=True,
    ),
)
"""The placement table, in the order the docs show it."""

PLACEMENTS: Final[Mapping[IdentityKind, Placement]] = MappingProxyType({row.kind: row for row in ROWS})
"""The placement table, keyed by identity kind."""


def rows_stamped(*stamps: Stamp, dynamic: bool | None = None) -> tuple[Placement, ...]:
    """The rows with one of ``stamps`` (and, when given, that ``dynamic`` value), in table order."""
    return tuple(row for row in ROWS if row.stamp in stamps and (dynamic is None or row.dynamic is dynamic))


BAGGAGE_KEYS: Final[Mapping[str, Placement]] = MappingProxyType(
    {row.attribute: row for row in ROWS if row.baggage is not Baggage.NEVER and row.attribute is not None}
)
"""Baggage key -> row, for every identity that may cross services (to trusted peers only)."""


def _cell(row: Placement) -> str:
    names = [name for name in (row.attribute, *row.markers) if name]
    return ", ".join(f"`{name}`" for name in names) + (" (ours)" if row.ours else "")


def markdown_table() -> str:
    """The table as the README shows it (``tests/core/test_placement.py`` checks the README holds it)."""
    lines = [
        "| identity | lifetime | span attribute | on which spans | in-process scope | W3C baggage |",
        "|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        scope = "yes" if row.in_process_scope else "no"
        cells = (row.identity, row.lifetime.value, _cell(row), row.stamp.value, scope, row.baggage.value)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
