"""Facts about agent-framework this instrumentor relies on, each read in one place.

Public surface first; the few private names are used only in the framework versions they
were checked against (:data:`PRIVATE_NAMES_VERIFIED`), each with a public fallback, so a
framework upgrade degrades telemetry detail instead of breaking the app.

Private names (verified with agent-framework-core 1.23.0):

* ``agent_framework.observability._use_telemetry_conversation_id``: context manager setting
  the context variable ``_TELEMETRY_CONVERSATION_ID`` that the framework's ``invoke_agent``
  and ``chat`` spans read for ``gen_ai.conversation.id``. Fallback: none reaches that
  attribute on the framework's own spans (it sets its attributes again when they end);
  where the framework sets none (first runs, first chat calls) the identity processor's
  stable id stays, elsewhere the framework's value (a rotating ``resp_*``) does. Every
  other span of the run still carries the stable id.
* ``BaseAgent._get_otel_conversation_id(session)``: the owning agent's reading of its
  ``service_session_id`` (string as is; A2A mapping -> ``context_id``). Fallback: the same
  rule on the public ``service_session_id``.
* ``ResponseStream._stream_error``: the error a stream ended with, read in cleanup hooks
  (the framework's own telemetry reads it the same way). Fallback: no error recorded.
* ``AgentResponseUpdate._operation_state``: whether an update ends a background operation,
  to tell whether a streamed run left a continuation token. Fallback: the last update's token.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = [
    "FRAMEWORK_VERSION",
    "PRIVATE_NAMES_VERIFIED",
    "StreamFacts",
    "enter_framework_conversation",
    "exit_framework_conversation",
    "framework_telemetry_enabled",
    "looks_like_response_handle",
    "owning_conversation_id",
    "stream_error",
]

logger = logging.getLogger("otel_identity")

_VERIFIED_RANGE: Final = ((1, 23), (2, 0))
"""agent-framework-core versions [low, high) whose private names were checked."""


def _parse_version(text: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _framework_version() -> tuple[int, int] | None:
    try:
        return _parse_version(importlib.metadata.version("agent-framework-core"))
    except importlib.metadata.PackageNotFoundError:
        return None


FRAMEWORK_VERSION: Final = _framework_version()
"""(major, minor) of the installed agent-framework-core, or ``None``."""

PRIVATE_NAMES_VERIFIED = FRAMEWORK_VERSION is not None and (
    _VERIFIED_RANGE[0] <= FRAMEWORK_VERSION < _VERIFIED_RANGE[1]
)
"""Whether the private names listed in the module docstring may be used."""


def _load_conversation_helper() -> Callable[[str | None], contextlib.AbstractContextManager[None]] | None:
    if not PRIVATE_NAMES_VERIFIED:
        return None
    try:
        from agent_framework.observability import _use_telemetry_conversation_id
    except ImportError:
        logger.debug("otel-identity: agent-framework has no _use_telemetry_conversation_id; using the fallback")
        return None
    return _use_telemetry_conversation_id if callable(_use_telemetry_conversation_id) else None


_CONVERSATION_HELPER = _load_conversation_helper()
"""The framework's helper, or ``None`` (then :func:`enter_framework_conversation` does nothing)."""


def enter_framework_conversation(conversation_id: str | None) -> contextlib.AbstractContextManager[None] | None:
    """Make ``conversation_id`` the framework's own telemetry conversation id until :func:`exit_framework_conversation`.

    The framework then writes our stable id as ``gen_ai.conversation.id`` on its
    ``invoke_agent`` and ``chat`` spans instead of a rotating ``resp_*``: its spans are
    enriched, not duplicated. Returns the entered manager to exit, or ``None`` when there is
    nothing to undo (no id, no helper in this version, or the helper failed).

    A pair of functions rather than a ``contextlib`` generator: this runs on every attachment
    of a run (several per run, one per stream pull).
    """
    helper = _CONVERSATION_HELPER
    if helper is None or conversation_id is None:
        return None
    try:
        manager = helper(conversation_id)
        manager.__enter__()
    except Exception:
        logger.debug("otel-identity: could not set the framework conversation id", exc_info=True)
        return None
    return manager


def exit_framework_conversation(manager: contextlib.AbstractContextManager[None]) -> None:
    """Undo :func:`enter_framework_conversation` (never raises)."""
    try:
        manager.__exit__(None, None, None)
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
    if PRIVATE_NAMES_VERIFIED:
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


_RESPONSE_HANDLE_PREFIXES: Final = ("resp_",)
"""Id prefixes of response-chaining services (OpenAI / Azure OpenAI Responses API)."""


def looks_like_response_handle(value: str) -> bool:
    """Whether a service id is a response id used as a chain handle (it rotates every turn)."""
    return value.startswith(_RESPONSE_HANDLE_PREFIXES)


def stream_error(stream: object) -> BaseException | None:
    """The error a ``ResponseStream`` ended with, while its cleanup hooks run."""
    if not PRIVATE_NAMES_VERIFIED:
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
            state = getattr(update, "_operation_state", None) if PRIVATE_NAMES_VERIFIED else None
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
