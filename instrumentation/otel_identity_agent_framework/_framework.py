"""Facts about agent-framework this instrumentor relies on, each read in one place.

Public surface first; the private names come from :mod:`otel_identity_agent_framework._private`,
each used only in the versions of its own distribution it was verified with, each with a
public fallback, so a framework upgrade degrades telemetry detail instead of breaking the app.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping
from typing import Any

from otel_identity_agent_framework import _private as private

__all__ = [
    "EnteredConversation",
    "StreamFacts",
    "enter_framework_conversation",
    "exit_framework_conversation",
    "framework_telemetry_enabled",
    "owning_conversation_id",
    "stream_error",
    "upstream_conversation",
]

logger = logging.getLogger("otel_identity")


def _check_conversation_variable() -> bool:
    return isinstance(private.CONVERSATION_VARIABLE.resolve(), contextvars.ContextVar)


_CONVERSATION_VARIABLE = _check_conversation_variable()
"""Whether the framework's variable may be read; it is looked up at each read, in the module's namespace:
``importlib.reload(agent_framework.observability)`` (a test suite does it) creates a new one."""
_STREAM_ERROR = private.STREAM_ERROR.usable
_OPERATION_STATE = private.UPDATE_OPERATION_STATE.usable
_OTEL_CONVERSATION_READER = private.OTEL_CONVERSATION_READER.usable


_SET_BY_US: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "otel_identity_framework_conversation", default=None
)
"""The value we put into the framework's variable, where it is in force: ours is not "upstream"."""


def _conversation_variable() -> contextvars.ContextVar[str | None] | None:
    """The framework's variable, looked up where it lives now (a reload of its module makes a new one)."""
    if not _CONVERSATION_VARIABLE:
        return None
    variable = getattr(_OBSERVABILITY, "_TELEMETRY_CONVERSATION_ID", None)
    return variable if isinstance(variable, contextvars.ContextVar) else None


def upstream_conversation() -> str | None:
    """The framework's telemetry conversation id when something upstream set it (a protocol adapter).

    An identity set explicitly upstream wins over one we infer: the core is told, and we do
    not re-enter the framework's helper with a value of ours. A value an enclosing run of ours
    put there is not upstream: a scope the app opened inside that run must still win.
    """
    variable = _conversation_variable()
    if variable is None:
        return None
    value = variable.get()
    if not isinstance(value, str) or value == _SET_BY_US.get():
        return None
    return value


class EnteredConversation:
    """The framework's variable set to our value, and our marker of it, undone together."""

    __slots__ = ("marker", "token", "variable")

    def __init__(
        self,
        variable: contextvars.ContextVar[str | None],
        token: contextvars.Token[str | None],
        marker: contextvars.Token[str | None],
    ) -> None:
        self.variable = variable
        self.token = token
        self.marker = marker


def enter_framework_conversation(conversation_id: str | None) -> EnteredConversation | None:
    """Make ``conversation_id`` the framework's own telemetry conversation id until :func:`exit_framework_conversation`.

    The framework then writes our stable id as ``gen_ai.conversation.id`` on its
    ``invoke_agent`` and ``chat`` spans instead of a rotating ``resp_*``: its spans are
    enriched, not duplicated. Returns what to undo, or ``None`` when there is nothing to undo
    (no id, or the variable is not usable in this version).

    Sets the variable directly, as the framework's own ``_use_telemetry_conversation_id`` does,
    without entering that generator-based manager: this runs on every attachment of a run
    (several per run, one per stream pull), where the manager cost ten times more.
    """
    variable = _conversation_variable()
    if variable is None or conversation_id is None:
        return None
    try:
        token = variable.set(conversation_id)
    except Exception:
        logger.debug("otel-identity: could not set the framework conversation id", exc_info=True)
        return None
    return EnteredConversation(variable, token, _SET_BY_US.set(conversation_id))


def exit_framework_conversation(entered: EnteredConversation) -> None:
    """Undo :func:`enter_framework_conversation` (never raises)."""
    try:
        _SET_BY_US.reset(entered.marker)
        entered.variable.reset(entered.token)
    except Exception:
        logger.debug("otel-identity: could not reset the framework conversation id", exc_info=True)


def _load_observability_module() -> object:
    try:
        from agent_framework import observability
    except ImportError:
        return None
    return observability


_OBSERVABILITY: object = _load_observability_module()
"""``agent_framework.observability``, imported once (``None`` when it cannot be imported).

The settings object is still read from the module on every call, as the framework reads it.
"""


def framework_telemetry_enabled() -> bool:
    """Whether agent-framework's own instrumentation is on (public ``OBSERVABILITY_SETTINGS.ENABLED``)."""
    settings = getattr(_OBSERVABILITY, "OBSERVABILITY_SETTINGS", None)
    return bool(getattr(settings, "ENABLED", False))


def owning_conversation_id(agent: object, session: object) -> str | None:
    """The conversation id the agent owning ``session`` reads from it, before our lifetime rules.

    A string ``service_session_id`` is returned as is (it may be a rotating ``resp_*``: the
    caller decides); an A2A mapping gives its ``context_id``.
    """
    if _OTEL_CONVERSATION_READER:
        reader = getattr(agent, "_get_otel_conversation_id", None)
        if callable(reader):
            try:
                value = reader(session)
            except Exception:
                logger.debug("otel-identity: _get_otel_conversation_id failed; reading the session", exc_info=True)
            else:
                return value if isinstance(value, str) else None
    service = getattr(session, "service_session_id", None)
    if isinstance(service, str):
        return service
    if isinstance(service, Mapping):
        context_id = service.get("context_id")
        return context_id if isinstance(context_id, str) else None
    return None


def stream_error(stream: object) -> BaseException | None:
    """The error a ``ResponseStream`` ended with, while its cleanup hooks run."""
    if not _STREAM_ERROR:
        return None
    error = getattr(stream, "_stream_error", None)
    return error if isinstance(error, BaseException) else None


class StreamFacts:
    """What a stream's updates say about its result, observed as they pass (a no-op update transform).

    Mirrors how ``AgentResponse.from_updates`` derives ``response_id`` and
    ``continuation_token``, without building the response (that would coalesce the updates'
    contents in place) and whether or not the stream buffers its updates.
    """

    __slots__ = ("items", "keep_items", "response_id", "token")

    def __init__(self, *, keep_items: bool = False) -> None:
        self.response_id: str | None = None
        self.token: Any = None
        self.keep_items = keep_items
        self.items: list[object] = []
        """The updates' ``raw_representation`` (kept only when ``keep_items``)."""

    def observe(self, update: Any) -> None:
        """Update transform hook: note the update's ids; returns ``None`` (the update is unchanged)."""
        try:
            value = getattr(update, "response_id", None)
            if isinstance(value, str) and value:
                self.response_id = value
            state = getattr(update, "_operation_state", None) if _OPERATION_STATE else None
            current = getattr(update, "continuation_token", None)
            if state == "terminal":
                self.token = None
            elif state == "in_progress":
                if current is not None:
                    self.token = current
            else:
                self.token = current
            if self.keep_items:
                self.items.append(getattr(update, "raw_representation", None))
        except Exception:
            logger.debug("otel-identity: could not observe a stream update", exc_info=True)

    @property
    def continuation_token(self) -> Mapping[str, Any] | None:
        return self.token if isinstance(self.token, Mapping) else None
