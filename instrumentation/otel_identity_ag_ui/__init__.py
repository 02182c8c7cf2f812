"""AG-UI thread and run identity for agent-framework-ag-ui (>= 1.7): the endpoint and ``AGUIChatClient``.

agent-framework-ag-ui serves agent-framework agents and workflows to browser frontends over
AG-UI (``add_agent_framework_fastapi_endpoint``; each request is a ``RunAgentInput`` with a
``thread_id`` and a ``run_id``, answered as Server-Sent Events). On its own it builds a fresh
``AgentSession`` per request whose id is a hash of the authorization scope and the thread
(``ag-ui:v1:scoped:<sha256>``), records the run id nowhere and hands the raw thread id,
unvalidated, to the framework's chat spans. This instrumentor puts each AG-UI id where
otel-identity's placement table says:

* ``thread_id`` is the durable conversation: ``gen_ai.conversation.id`` and ``session.id`` of
  every span of the request (the HTTP server span, the agent run, chat, tools, HTTP calls, the
  workflow's spans), the same for every request of the thread. The framework's hashed
  ``AgentSession`` id is its storage key, not what users see (with otel-identity's nesting rule
  it appears only on the run span, as ``otel_identity.agent.session.id``). When a trusted caller's
  ``session.id`` was accepted from the request's baggage, it stays the ``session.id`` and the
  thread is the conversation.
* ``run_id`` is the run: ``otel_identity.run.id`` in the request's scope (the app's own run id,
  never the session), on the HTTP server span; the agent or workflow run the request starts
  gets a run id of its own from the agent-framework instrumentor and records the request's as
  ``otel_identity.run.parent.id``.
* ``parentRunId`` (a run spawned by another run) is recorded on the HTTP server span as
  ``otel_identity.run.parent.id``: the request is the AG-UI run.
* A value that is not an id (empty, over 256 characters, control characters: the core's
  ``clean_id`` decides) is never used and never reaches an attribute, not even the
  framework's own ``gen_ai.conversation.id``; the request is served exactly as without us.
  Without a valid thread id, the agent's spans carry what the agent-framework instrumentor
  infers: the hashed ``AgentSession`` id.
* Human in the loop (tool approval, a workflow's request for information: interrupt and
  resume) and shared state travel in the same thread: the resuming request carries the same
  ``thread_id`` and gets the same identities; its own ``run_id`` is its run.
* ``AGUIChatClient``: each call gets a CLIENT ``invoke_agent`` span (``gen_ai.provider.name``
  ``agui``, ``server.address`` / ``server.port``) with the remote thread as its conversation and
  the ``run_id`` it sent as its run (nested in the caller's run, if any); ``session.id`` crosses
  to the endpoint only when it is a trusted peer (``OTEL_IDENTITY_TRUSTED_PEERS``), through the
  httpx instrumentation.

Usage
-----
Zero code (the entry point is ``ag_ui``)::

    OTEL_SERVICE_NAME=chat-backend OTEL_PROPAGATORS=tracecontext,otel_identity \\
        opentelemetry-instrument uvicorn app:app

In code, before the endpoint is added:

.. code-block:: python

    import otel_identity
    from agent_framework import Agent
    from agent_framework_ag_ui import add_agent_framework_fastapi_endpoint
    from fastapi import FastAPI
    from otel_identity_testing.scripted_chat import ScriptedChatClient  # any chat client
    from otel_identity_ag_ui import AGUIInstrumentor

    otel_identity.configure(service_name="chat-backend", instrument=True)  # or AGUIInstrumentor().instrument()

    app = FastAPI()
    add_agent_framework_fastapi_endpoint(
        app, Agent(ScriptedChatClient(), name="assistant"), "/agent", single_user=True
    )

The HTTP server span and the caller's trace context come from an ASGI server
instrumentation (``opentelemetry-instrumentation-fastapi`` or ``-asgi``), which extracts with
the global propagator: install otel-identity's (``OTEL_PROPAGATORS=tracecontext,otel_identity``
or ``configure()``) so that a caller's ``session.id`` is validated and ``accept_inbound``
decides. Without one, the routes ``add_agent_framework_fastapi_endpoint`` adds after
``instrument()`` extract the same way themselves (only when no span is current), so the agent's
spans still continue the caller's trace. For browser-facing endpoints,
``OTEL_IDENTITY_INBOUND=ignore`` is the safe choice.

Configuration
-------------
``AGUIInstrumentor().instrument(tracer_provider=...)`` chooses the provider of the client
spans (default: the global one). The identity attributes are stamped by
:class:`otel_identity.IdentitySpanProcessor`, which ``otel_identity.configure()`` adds.
Suppressed instrumentation (``opentelemetry.instrumentation.utils.suppress_instrumentation``)
passes every call through untouched.

API
---
:class:`AGUIInstrumentor` (``instrument()``, ``uninstrument()``, ``instrumentation_dependencies()``).

Framework facts relied on (agent-framework-ag-ui 1.7.0): the public ``AgentFrameworkAgent.run``,
``AgentFrameworkWorkflow.run``, ``AGUIHttpService.post_run`` and
``add_agent_framework_fastapi_endpoint`` (the ``app`` attribute of the routes it adds); one private name, listed with
its version range in ``otel_identity_ag_ui._private``. Limits: a subclass that overrides
``AgentFrameworkWorkflow.run`` without calling it is not seen; a request without a
``thread_id`` (the framework then generates one) or a ``run_id`` has no thread or run of ours,
its spans carry what the agent-framework instrumentor infers; the ASGI instrumentation's own
``http receive`` / ``http send`` sub-spans start outside the run and carry no identity (the
thread is in the body, read after them).
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any

from opentelemetry import trace

from otel_identity.instrumentation import FrameworkInstrumentor
from otel_identity_ag_ui.package import _instruments
from otel_identity_ag_ui.version import __version__

__all__ = ["AGUIInstrumentor", "__version__"]


class AGUIInstrumentor(FrameworkInstrumentor):
    """Put AG-UI threads and runs in scope on the server and trace ``AGUIChatClient`` calls; see the module docstring.

    agent-framework-ag-ui is imported only when :meth:`instrument` runs, so the entry point
    loads where it is missing (``instrument()`` then does nothing).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _patch(self, **kwargs: Any) -> None:
        import agent_framework_ag_ui
        from agent_framework_ag_ui import AgentFrameworkAgent, AgentFrameworkWorkflow, AGUIHttpService

        from otel_identity_ag_ui._client import post_run_wrapper
        from otel_identity_ag_ui._endpoint import add_endpoint_wrapper, set_enabled
        from otel_identity_ag_ui._private import TELEMETRY_CONVERSATION
        from otel_identity_ag_ui._server import clean_telemetry_conversation, run_wrapper

        tracer = trace.get_tracer(__name__, __version__, tracer_provider=kwargs.get("tracer_provider"))
        self._wrap(AgentFrameworkAgent, "run", run_wrapper)
        self._wrap(AgentFrameworkWorkflow, "run", run_wrapper)
        self._wrap(AGUIHttpService, "post_run", post_run_wrapper(tracer))
        self._wrap(agent_framework_ag_ui, "add_agent_framework_fastapi_endpoint", add_endpoint_wrapper)
        set_enabled(True)
        for private in TELEMETRY_CONVERSATION:
            if private.resolve() is not None:  # verified for this version, with the expected parameters
                self._wrap(importlib.import_module(private.module), private.qualname, clean_telemetry_conversation)

    def _uninstrument(self, **kwargs: Any) -> None:
        from otel_identity_ag_ui._endpoint import set_enabled

        set_enabled(False)  # routes built while instrumented pass through
        super()._uninstrument(**kwargs)
