"""Every private name of a2a-sdk this instrumentor uses, as versioned data.

Each is gated by a2a-sdk's own version range it was checked against
(:class:`otel_identity.instrumentation.PrivateName`); where one is not usable, the public
fallback named beside it is taken. ``tests/a2a/test_a2a_private_names.py`` checks them
against the installed package.
"""

from __future__ import annotations

from typing import Final

from otel_identity.instrumentation import PrivateName

__all__ = ["AGENT_CARDS", "DISPATCH_NOTIFICATION", "REGISTRY", "RUN_EVENT_STREAM"]

_SDK: Final = "a2a-sdk"
_RANGE: Final = ">=1.3,<2"

RUN_EVENT_STREAM: Final = PrivateName(
    _SDK, _RANGE, "a2a.server.request_handlers.default_request_handler", "LegacyRequestHandler._run_event_stream"
)
"""The legacy handler's executor call: the task scope of what the executor does. Fallback: the request
handler's span scope only (``ActiveTask.enqueue_request`` covers the v2 handler publicly)."""

DISPATCH_NOTIFICATION: Final = PrivateName(
    _SDK, _RANGE, "a2a.server.tasks.base_push_notification_sender", "BasePushNotificationSender._dispatch_notification"
)
"""One push-notification delivery: a PRODUCER span per delivery. Fallback: no push span."""

AGENT_CARDS: Final = (
    PrivateName(
        _SDK,
        _RANGE,
        "a2a.server.request_handlers.default_request_handler_v2",
        "DefaultRequestHandlerV2._agent_card",
        instance_attribute=True,
    ),
    PrivateName(
        _SDK,
        _RANGE,
        "a2a.server.request_handlers.default_request_handler",
        "LegacyRequestHandler._agent_card",
        instance_attribute=True,
    ),
)
"""The served agent card, for ``gen_ai.agent.*`` on server spans. Fallback: no agent attributes."""

REGISTRY: Final = (RUN_EVENT_STREAM, DISPATCH_NOTIFICATION, *AGENT_CARDS)
