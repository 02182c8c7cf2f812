"""The previous-response handle on the framework's ``chat`` spans.

The identity span processor stamps ``gen_ai.request.previous_response.id`` on spans it
recognizes as chat spans by their ``gen_ai.operation.name`` at start. agent-framework
starts its chat spans without attributes and sets them right after, so the processor
cannot tell. ``BaseChatClient.get_response`` (public) runs inside the framework's chat
span, after its attributes are set; there we write the handle the call actually sends (the
``conversation_id`` option, when it is a response id). The framework never sets this
attribute itself, so nothing it writes later replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_identity import attributes, get_identities, record_request
from otel_identity.instrumentation import guard, sent_response_handle

__all__ = ["make_chat_wrapper"]

_CHAT = "chat"


def _record_sent_handle(kwargs: Mapping[str, Any]) -> None:
    if get_identities() is None:
        return
    span = trace.get_current_span()
    if not span.is_recording():
        return
    existing = getattr(span, "attributes", None) or {}
    options = kwargs.get("options")
    if existing.get(attributes.GEN_AI_OPERATION_NAME) == _CHAT and isinstance(options, Mapping):
        record_request(span, previous_response_id=sent_response_handle(options.get("conversation_id")))


def make_chat_wrapper() -> Callable[..., Any]:
    """Wrapper for ``BaseChatClient.get_response``."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if is_instrumentation_enabled():
            with guard("agent_framework.chat"):
                _record_sent_handle(kwargs)
        return wrapped(*args, **kwargs)

    return wrapper
