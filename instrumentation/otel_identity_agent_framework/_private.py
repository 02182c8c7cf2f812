"""Every private name of agent-framework this instrumentor uses, as versioned data.

Each is gated by the distribution that ships it and the versions it was checked against
(:class:`otel_identity.instrumentation.PrivateName`); where one is not usable the public
fallback named beside it is taken, so a framework upgrade degrades telemetry detail instead
of breaking the app. ``tests/agent_framework/test_af_private_names.py`` checks them against the
installed packages.
"""

from __future__ import annotations

from typing import Final

from otel_identity.instrumentation import PrivateName

__all__ = [
    "A2A_MAP_STREAM",
    "A2A_PREPARE_MESSAGE",
    "CONVERSATION_VARIABLE",
    "OTEL_CONVERSATION_READER",
    "REGISTRY",
    "STREAM_ERROR",
    "UPDATE_OPERATION_STATE",
]

_CORE: Final = "agent-framework-core"
_CORE_RANGE: Final = ">=1.23,<2"
_A2A: Final = "agent-framework-a2a"
_A2A_RANGE: Final = ">=1.0.0b261022,<2"

CONVERSATION_VARIABLE: Final = PrivateName(
    _CORE, _CORE_RANGE, "agent_framework.observability", "_TELEMETRY_CONVERSATION_ID"
)
"""The context variable the framework's ``invoke_agent``/``chat`` spans read for ``gen_ai.conversation.id``: we
set it to the stable id (as its ``_use_telemetry_conversation_id`` does), and a value already set there by
someone else is an identity set explicitly upstream (a protocol adapter's). Fallback: the framework writes
its own value on its spans (the identity processor's stays where it writes none); nothing upstream is seen."""

OTEL_CONVERSATION_READER: Final = PrivateName(
    _CORE, _CORE_RANGE, "agent_framework._agents", "BaseAgent._get_otel_conversation_id", ("session",)
)
"""The owning agent's reading of its ``service_session_id``. Fallback: the same rule on the public field."""

STREAM_ERROR: Final = PrivateName(
    _CORE, _CORE_RANGE, "agent_framework._types", "ResponseStream._stream_error", instance_attribute=True
)
"""The error a ``ResponseStream`` ended with, read in cleanup hooks. Fallback: no error recorded."""

UPDATE_OPERATION_STATE: Final = PrivateName(
    _CORE, _CORE_RANGE, "agent_framework._types", "AgentResponseUpdate._operation_state", instance_attribute=True
)
"""Whether an update ends a background operation. Fallback: the last update's continuation token."""

A2A_PREPARE_MESSAGE: Final = PrivateName(
    _A2A, _A2A_RANGE, "agent_framework_a2a._agent", "A2AAgent._prepare_message_for_a2a"
)
"""The A2A message a run really sends. Fallback: inferred from the session as ``A2AAgent`` documents."""

A2A_MAP_STREAM: Final = PrivateName(_A2A, _A2A_RANGE, "agent_framework_a2a._agent", "A2AAgent._map_a2a_stream")
"""Every A2A protocol item a run receives. Fallback: the items the agent's updates carry."""

REGISTRY: Final = (
    CONVERSATION_VARIABLE,
    OTEL_CONVERSATION_READER,
    STREAM_ERROR,
    UPDATE_OPERATION_STATE,
    A2A_PREPARE_MESSAGE,
    A2A_MAP_STREAM,
)
