"""Session, conversation, task and run identity for Microsoft Agent Framework (agent-framework-core >= 1.23).

Agent Framework's own telemetry (1.23) leaves the runs of one session unrelated: the first
run has no ``gen_ai.conversation.id``, later ones get the rotating ``resp_*`` of the previous
response, ``session_id`` is never recorded, chat and tool spans carry no session,
``A2AAgent.run`` emits no span and hosted A2A agents have no conversation id. This
instrumentor puts each identity where its lifetime says (see :mod:`otel_identity.placement`).

Usage
-----
.. code-block:: python

    import asyncio

    import otel_identity
    from agent_framework import Agent
    from agent_framework.observability import enable_instrumentation
    from otel_identity_testing.scripted_chat import ScriptedChatClient  # any chat client
    from otel_identity_agent_framework import AgentFrameworkInstrumentor

    otel_identity.configure(service_name="concierge")  # SDK provider + identity processor
    enable_instrumentation()                            # the framework's own spans (optional)
    AgentFrameworkInstrumentor().instrument()


    async def main() -> None:
        agent = Agent(ScriptedChatClient(mode="responses"), name="concierge")
        session = agent.create_session()
        await agent.run("Weather in Paris?", session=session)  # every span of both runs: the same
        await agent.run("And tomorrow?", session=session)      # session.id and gen_ai.conversation.id


    asyncio.run(main())

or zero-code: ``opentelemetry-instrument`` (entry point ``agent_framework``), or
``otel_identity.configure(instrument=True)``.

What each run gets:

* Before the framework starts ``invoke_agent``, the run's scopes are opened from its
  ``AgentSession``: ``session.id`` = ``session.session_id``; a stable
  ``gen_ai.conversation.id`` (the service's conversation id if the session already has a
  stable one, A2A ``context_id`` or ``conv_*``, else the session id; kept for the later runs
  of the session); ``otel_identity.run.id``. The framework's ``invoke_agent`` and ``chat``
  spans take the same conversation id (their own attribute is set, not duplicated); every
  other span started inside the run (execute_tool, MCP, HTTP, ...) gets them from the
  identity span processor. Streams re-apply the scopes on each pull.
* A ``resp_*`` service handle is the run's ``gen_ai.request.previous_response.id`` (run span
  and chat spans), never the conversation id.
* On the run span only: ``gen_ai.response.id`` of the agent response, and
  ``otel_identity.continuation.issued`` / ``.resumed`` for continuation tokens (never raw).
* With the framework's instrumentation off, an ``invoke_agent {agent}`` span of ours is the
  run span, so sessions stay visible; with it on, the framework's span is the run span.
* ``A2AAgent.run`` / ``poll_task``: a CLIENT ``invoke_agent {agent}`` span with
  ``gen_ai.conversation.id`` = ``context_id``, ``a2a.task.id``, ``a2a.task.state`` by name
  (changes as ``otel_identity.a2a.task.state_change`` events) and ``a2a.message.reference_task_ids`` as sent.
* ``MCPStreamableHTTPTool.call_tool``: the tool's server URL (``url``) is the destination of
  the ``_meta`` agent-framework injects, so ``session.id`` reaches the MCP server exactly when
  it is trusted (no ``set_destination`` in app code); stdio tools are not touched.
* ``A2AExecutor.execute``: the request's ``context_id`` is the conversation and its task the
  task scope of every span the hosted agent produces.

Explicit wiring, without patching, for ``Agent`` only (fewer guarantees, see
:class:`IdentityAgentMiddleware`)::

    agent = Agent(client, name="concierge", middleware=[IdentityAgentMiddleware()])

Configuration
-------------
``instrument(tracer_provider=...)`` chooses the provider of our own spans (default: the
global one). The identity attributes are stamped by :class:`otel_identity.IdentitySpanProcessor`,
which ``otel_identity.configure()`` adds. Suppressed instrumentation
(``opentelemetry.instrumentation.utils.suppress_instrumentation``) passes runs through
untouched. The framework's own switches (``enable_instrumentation()``,
``ENABLE_INSTRUMENTATION``, ``ENABLE_SENSITIVE_DATA``) keep their meaning.

API
---
:class:`AgentFrameworkInstrumentor`, :class:`IdentityAgentMiddleware`.

Framework facts relied on (checked with agent-framework-core 1.23.0, agent-framework-a2a
1.0.0b261022, a2a-sdk 1.3.0): the public ``run`` of ``Agent``, ``AgentTelemetryLayer``,
``RawAgent`` and ``A2AAgent``, ``A2AAgent.poll_task``, ``A2AExecutor.execute``,
``BaseChatClient.get_response`` (it runs inside the framework's chat span),
``MCPStreamableHTTPTool.call_tool`` (its ``MCPTool.call_tool`` injects ``_meta``) and ``.url``, the
``ResponseStream`` hooks and ``OBSERVABILITY_SETTINGS.ENABLED``. Private names are used only
for agent-framework-core 1.23 to <2, each with a fallback; they are listed in
``otel_identity_agent_framework._framework`` (plus ``A2AAgent._prepare_message_for_a2a`` and
``A2AAgent._map_a2a_stream`` in ``otel_identity_agent_framework._a2a``).

Limits: the conversation id chosen at a session's first run is remembered per session
object in this process; a session restored with ``AgentSession.from_dict`` whose service
created a ``conv_*`` during its first run then uses that ``conv_*``. An A2A session uses the
remote ``context_id`` as soon as it has one (the remote agent's spans carry it too): spans
under its first run, before the server chose it, carry the local session id. A
response-chaining handle is recognized by its ``resp_`` prefix. Spans started by result
hooks after a stream is consumed (``after_run`` context providers) run outside the run's
scopes.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from otel_identity.instrumentation import FrameworkInstrumentor
from otel_identity_agent_framework import _private
from otel_identity_agent_framework._a2a import (
    make_a2a_poll_wrapper,
    make_a2a_prepare_wrapper,
    make_a2a_run_wrapper,
    make_a2a_stream_wrapper,
    make_executor_wrapper,
)
from otel_identity_agent_framework._agents import Layer, make_run_wrapper
from otel_identity_agent_framework._chat import make_chat_wrapper
from otel_identity_agent_framework._mcp import mcp_call_tool_wrapper
from otel_identity_agent_framework._workflows import instrument_workflows
from otel_identity_agent_framework.package import _instruments
from otel_identity_agent_framework.version import __version__

if TYPE_CHECKING:
    from otel_identity_agent_framework._middleware import IdentityAgentMiddleware

__all__ = ["AgentFrameworkInstrumentor", "IdentityAgentMiddleware", "__version__"]

logger = logging.getLogger("otel_identity")


class AgentFrameworkInstrumentor(FrameworkInstrumentor):
    """Opens agent-framework runs' identity scopes and records their run-level ids."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _patch(self, **kwargs: Any) -> None:
        from agent_framework import Agent, BaseChatClient, RawAgent
        from agent_framework.observability import AgentTelemetryLayer

        tracer = trace.get_tracer(__name__, __version__, tracer_provider=kwargs.get("tracer_provider"))
        self._wrap(Agent, "run", make_run_wrapper(tracer, Layer.OUTER))
        self._wrap(AgentTelemetryLayer, "run", make_run_wrapper(tracer, Layer.OUTER))
        self._wrap(RawAgent, "run", make_run_wrapper(tracer, Layer.RAW))
        self._wrap(BaseChatClient, "get_response", make_chat_wrapper())
        self._instrument_mcp()
        self._instrument_a2a(tracer)
        instrument_workflows(self._wrap, tracer)

    def _instrument_mcp(self) -> None:
        from agent_framework import MCPStreamableHTTPTool

        if callable(vars(MCPStreamableHTTPTool).get("call_tool")):
            self._wrap(MCPStreamableHTTPTool, "call_tool", mcp_call_tool_wrapper)

    def _instrument_a2a(self, tracer: trace.Tracer) -> None:
        try:
            from agent_framework_a2a import A2AAgent, A2AExecutor
        except ImportError:
            logger.debug("otel-identity: agent-framework-a2a not installed; A2A not instrumented")
            return
        if "run" in vars(A2AAgent):
            sees_sent = _private.A2A_PREPARE_MESSAGE.usable
            if sees_sent:
                self._wrap(A2AAgent, "_prepare_message_for_a2a", make_a2a_prepare_wrapper())
            if _private.A2A_MAP_STREAM.usable:
                self._wrap(A2AAgent, "_map_a2a_stream", make_a2a_stream_wrapper())
            self._wrap(A2AAgent, "run", make_a2a_run_wrapper(tracer, sees_sent_message=sees_sent))
        if callable(vars(A2AAgent).get("poll_task")):
            self._wrap(A2AAgent, "poll_task", make_a2a_poll_wrapper(tracer))
        self._wrap(A2AExecutor, "execute", make_executor_wrapper())


def __getattr__(name: str) -> Any:
    # IdentityAgentMiddleware subclasses agent-framework's AgentMiddleware: imported on first
    # use, so this package (and its entry point) loads even where agent-framework is absent.
    if name == "IdentityAgentMiddleware":
        from otel_identity_agent_framework._middleware import IdentityAgentMiddleware

        return IdentityAgentMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
