"""Which a2a-sdk 1.x methods are patched, and the A2A method (span name) each one performs.

Client side: the transports (``JsonRpcTransport``, ``RestTransport``, ``GrpcTransport``) all
implement ``a2a.client.transports.base.ClientTransport``; one transport method is one A2A
call, and the transport knows its peer URL. ``BaseClient`` picks streaming or not before it
reaches them, so ``send_message`` vs ``send_message_streaming`` names the method exactly.

Server side: every transport (JSON-RPC, REST, gRPC) dispatches to a ``RequestHandler``; the
two handlers a2a-sdk ships (``DefaultRequestHandlerV2``, alias ``DefaultRequestHandler``, and
``LegacyRequestHandler``) are patched, so one handler method is one A2A request whatever the
transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "ADVANCING",
    "CLIENT_METHODS",
    "CLIENT_TRANSPORTS",
    "HTTP_ENTRY_POINTS",
    "SERVER_HANDLERS",
    "SERVER_METHODS",
    "STATE_EVENTS",
    "STREAMING",
]

CLIENT_METHODS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "send_message": "SendMessage",
        "send_message_streaming": "SendStreamingMessage",
        "get_task": "GetTask",
        "list_tasks": "ListTasks",
        "cancel_task": "CancelTask",
        "subscribe": "SubscribeToTask",
        "create_task_push_notification_config": "CreateTaskPushNotificationConfig",
        "get_task_push_notification_config": "GetTaskPushNotificationConfig",
        "list_task_push_notification_configs": "ListTaskPushNotificationConfigs",
        "delete_task_push_notification_config": "DeleteTaskPushNotificationConfig",
        "get_extended_agent_card": "GetExtendedAgentCard",
    }
)
"""``ClientTransport`` method -> A2A method name."""

SERVER_METHODS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "on_message_send": "SendMessage",
        "on_message_send_stream": "SendStreamingMessage",
        "on_get_task": "GetTask",
        "on_list_tasks": "ListTasks",
        "on_cancel_task": "CancelTask",
        "on_subscribe_to_task": "SubscribeToTask",
        "on_create_task_push_notification_config": "CreateTaskPushNotificationConfig",
        "on_get_task_push_notification_config": "GetTaskPushNotificationConfig",
        "on_list_task_push_notification_configs": "ListTaskPushNotificationConfigs",
        "on_delete_task_push_notification_config": "DeleteTaskPushNotificationConfig",
        "on_get_extended_agent_card": "GetExtendedAgentCard",
    }
)
"""``RequestHandler`` method -> A2A method name."""

STREAMING: Final = frozenset({"SendStreamingMessage", "SubscribeToTask"})
"""A2A methods whose result is a stream of events (an async generator in a2a-sdk)."""

ADVANCING: Final = frozenset({"SendMessage", "SendStreamingMessage"})
"""Methods that start or advance a task: later traces (resubscriptions, push notifications) link to their spans."""

STATE_EVENTS: Final = frozenset({"SendMessage", "SendStreamingMessage", "SubscribeToTask", "CancelTask"})
"""Methods that move or follow a task: the state changes they see become span events.

Read-only methods (``GetTask``, ``ListTasks`` ...) only set ``a2a.task.state``: reading a
state is not a change.
"""

CLIENT_TRANSPORTS: Final = (
    ("a2a.client.transports.jsonrpc", "JsonRpcTransport", "JSONRPC"),
    ("a2a.client.transports.rest", "RestTransport", "HTTP+JSON"),
    ("a2a.client.transports.grpc", "GrpcTransport", "GRPC"),
)
"""(module, class, protocol binding) of each transport; gRPC only when ``grpcio`` is installed."""

SERVER_HANDLERS: Final = (
    ("a2a.server.request_handlers.default_request_handler_v2", "DefaultRequestHandlerV2"),
    ("a2a.server.request_handlers.default_request_handler", "LegacyRequestHandler"),
)
"""(module, class) of each request handler."""

HTTP_ENTRY_POINTS: Final = (
    ("a2a.server.routes.jsonrpc_dispatcher", "JsonRpcDispatcher", ("handle_requests",)),
    (
        "a2a.server.routes.rest_dispatcher",
        "RestDispatcher",
        (
            "on_message_send",
            "on_message_send_stream",
            "on_cancel_task",
            "on_subscribe_to_task",
            "on_get_task",
            "get_push_notification",
            "delete_push_notification",
            "set_push_notification",
            "list_push_notifications",
            "list_tasks",
            "handle_authenticated_agent_card",
        ),
    ),
)
"""(module, class, methods) where a2a-sdk's HTTP routes enter: the Starlette endpoints of JSON-RPC and REST.

a2a-sdk's own tracing (``trace_class``) starts a span in each of them before any request
handler runs; the caller's context is attached around them so those spans join the caller's
trace instead of starting an orphan trace per request. gRPC needs none: ``GrpcHandler`` is
not traced, so the first a2a-sdk span is the request handler's, inside ours.
"""
