"""Every private name of agent-framework-ag-ui this instrumentor uses, as versioned data.

Each is gated by agent-framework-ag-ui's own version range it was checked against
(:class:`otel_identity.instrumentation.PrivateName`); where one is not usable, the fallback
named beside it is taken. ``tests/ag_ui/test_ag_ui_instrumentor.py`` checks them against the
installed package.

The public surface used (agent-framework-ag-ui 1.7.0): ``AgentFrameworkAgent.run(input_data)``
and ``AgentFrameworkWorkflow.run(input_data)``, the async generators every AG-UI endpoint
(``add_agent_framework_fastapi_endpoint``) iterates for one request (``input_data`` is the
``RunAgentInput`` as a dict: ``thread_id`` / ``threadId``, ``run_id`` / ``runId``), and
``AGUIHttpService.post_run(thread_id, run_id, ...)`` with ``AGUIHttpService.endpoint``, the
event stream of one ``AGUIChatClient`` call.
"""

from __future__ import annotations

from typing import Final

from otel_identity.instrumentation import PrivateName

__all__ = ["REGISTRY", "TELEMETRY_CONVERSATION"]

_AG_UI: Final = "agent-framework-ag-ui"
_RANGE: Final = ">=1.7,<2"

TELEMETRY_CONVERSATION: Final = (
    PrivateName(
        _AG_UI, _RANGE, "agent_framework_ag_ui._agent_run", "_use_telemetry_conversation_id", ("conversation_id",)
    ),
    PrivateName(
        _AG_UI, _RANGE, "agent_framework_ag_ui._workflow_run", "_use_telemetry_conversation_id", ("conversation_id",)
    ),
)
"""agent-framework's ``_use_telemetry_conversation_id`` as agent-framework-ag-ui's run modules import it.

They enter it with the raw AG-UI thread id, so the framework's ``invoke_agent``, ``chat`` and
``workflow.run`` spans would carry any thread id as ``gen_ai.conversation.id``, unvalidated (a
10 KB or control-character value as is). Wrapped where verified: a value that is not an id is
not set (the framework's spans then take the conversation from otel-identity's scope, or
none); a valid id passes unchanged. Fallback: none; the framework writes what it was sent.
"""

REGISTRY: Final = TELEMETRY_CONVERSATION
