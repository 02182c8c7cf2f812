"""``IdentityAgentMiddleware``: the same run scopes, wired explicitly as agent middleware.

Agent middleware runs outside the framework's ``invoke_agent`` span (the middleware layer
sits above the telemetry layer), so it can open the scopes before that span starts, but it
never sees the span itself. It covers: ``session.id``, the stable
``gen_ai.conversation.id`` and ``otel_identity.run.id`` on ``invoke_agent`` and every span
under it (chat, execute_tool, MCP, HTTP), streaming included, and the previous-response
handle on chat spans. It does not cover what needs the run span or the instrumentor:
``gen_ai.response.id``, continuation markers and the previous-response handle on
``invoke_agent``; an ``invoke_agent`` span when the framework's instrumentation is off;
agents without a middleware layer (``A2AAgent``, ``RawAgent``); spans of middleware
registered before it. When :class:`AgentFrameworkInstrumentor` is active it does nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial

from agent_framework import AgentContext, AgentMiddleware, ResponseStream
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_identity.instrumentation import guard
from otel_identity_agent_framework._identity import ContinuationFacts, plan_agent_run
from otel_identity_agent_framework._run import RunState, applied, current_state

__all__ = ["IdentityAgentMiddleware"]


class IdentityAgentMiddleware(AgentMiddleware):  # type: ignore[misc]
    """Agent middleware that puts the run's session, conversation and run ids in scope.

    Usage::

        from otel_identity_agent_framework import IdentityAgentMiddleware

        agent = Agent(client, name="concierge", middleware=[IdentityAgentMiddleware()])
    """

    async def process(self, context: AgentContext, call_next: Callable[[], Awaitable[None]]) -> None:
        state: RunState | None = None
        if is_instrumentation_enabled():
            with guard("agent_framework.middleware"):
                enclosing = current_state()
                if enclosing is None or enclosing.agent is not context.agent or enclosing.entered_raw:
                    options = context.options
                    token = options.get("continuation_token") if isinstance(options, Mapping) else None
                    plan = plan_agent_run(context.agent, context.session)
                    state = RunState(
                        context.agent,
                        plan,
                        trace.NoOpTracer(),
                        expects_framework_span=False,
                        resumed=ContinuationFacts.from_token(token) if token is not None else None,
                    )
        if state is None:
            await call_next()
            return
        with applied(state):
            await call_next()
        with guard("agent_framework.middleware_stream"):
            if isinstance(context.result, ResponseStream):
                context.result.with_pull_context_manager(partial(applied, state))
