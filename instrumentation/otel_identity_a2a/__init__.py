"""OpenTelemetry instrumentation for a2a-sdk 1.x: A2A client and server spans that correlate across services.

a2a-sdk's own tracing names spans after Python methods, sets no A2A attributes and propagates
no context. This instrumentor adds the spans of the GenAI A2A conventions and puts each
identity where otel-identity's placement table says:

* every A2A call a client makes gets a CLIENT span named after the A2A method
  (``SendMessage``, ``SendStreamingMessage``, ``GetTask``, ``CancelTask``, ``SubscribeToTask``,
  ``ListTasks`` ...); the W3C trace context, and the caller's ``session.id`` for trusted peers
  only, travel in the request (``ClientCallContext.service_parameters``);
* every request a server handles gets a SERVER span in the caller's trace, and the agent
  executor runs with the task in scope, so model calls and tools inside a task carry
  ``a2a.task.id`` and ``gen_ai.conversation.id`` (the A2A ``contextId``);
* both sides carry ``a2a.method.name``, ``a2a.message.id``, ``a2a.task.id``,
  ``a2a.task.state``, ``gen_ai.conversation.id``, ``a2a.message.reference_task_ids``,
  ``a2a.protocol.version``, ``a2a.tenant``, ``gen_ai.agent.*`` from the agent card, and on the
  client ``server.address`` / ``server.port``; task state changes are span events
  (``otel_identity.a2a.task.state_change``);
* span status: ERROR when the call raised (``error.type`` = exception class) or the task
  ended ``TASK_STATE_FAILED`` / ``TASK_STATE_REJECTED`` (``error.type`` = that state). A
  ``TASK_STATE_CANCELED`` task leaves the status UNSET: cancelling is an outcome someone
  asked for, not a fault; ``a2a.task.state`` shows it. ``INPUT_REQUIRED`` and
  ``AUTH_REQUIRED`` are UNSET too;
* a resubscription, a later turn or a push notification that starts a new trace gets span
  links to the spans that started and last ran the task.

JSON-RPC, HTTP+JSON (REST) and gRPC behave alike: the client patches each transport, the
server patches the request handlers all transports dispatch to.

Usage
-----
Zero code (the entry point is ``a2a``)::

    OTEL_PROPAGATORS=tracecontext,otel_identity OTEL_IDENTITY_TRUSTED_PEERS=agents.internal \\
        opentelemetry-instrument python app.py

In code, after setting up tracing::

    import otel_identity
    from otel_identity_a2a import A2AInstrumentor

    otel_identity.configure(service_name="concierge", trusted_peers=["flights.internal:9001"])
    A2AInstrumentor().instrument()

    with otel_identity.session_scope("session-42"):
        async for event in client.send_message(request):   # a2a.client.Client
            ...

``otel_identity.instrumentation.instrument()`` (or ``configure(instrument=True)``) enables it with every other
installed otel-identity instrumentor.

Configuration
-------------
``A2AInstrumentor().instrument(tracer_provider=...)`` uses the given provider instead of the
global one. What crosses services is configured in the core: ``OTEL_IDENTITY_TRUSTED_PEERS``
(or ``configure(trusted_peers=...)``) names the peers that receive ``session.id``; on the
server ``OTEL_IDENTITY_INBOUND`` / ``configure(accept_inbound=...)`` decides whether a
caller's claim is accepted. The server extracts with the global propagator, so install
otel-identity's (``OTEL_PROPAGATORS=tracecontext,otel_identity``, or ``configure()``).

a2a-sdk's own spans stay as they are (``OTEL_INSTRUMENTATION_A2A_SDK_ENABLED=false`` turns
them off) but join the caller's trace: the caller's context is attached around the JSON-RPC
and REST endpoints, where a2a-sdk starts its first span, so it is no orphan root trace; the
later ones become children of these spans. Instrument before ``create_jsonrpc_routes`` /
``create_rest_routes`` run: the routes keep the endpoint methods they were built with. Suppressed instrumentation
(``opentelemetry.instrumentation.utils.suppress_instrumentation``) passes calls through.

API
---
:class:`A2AInstrumentor` (``instrument()``, ``uninstrument()``,
``instrumentation_dependencies()``); attribute names of this package in
:mod:`otel_identity_a2a.attributes`, identity attribute names in
:mod:`otel_identity.attributes`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_identity.instrumentation import missing_framework
from otel_identity_a2a.package import _instruments
from otel_identity_a2a.version import __version__

__all__ = ["A2AInstrumentor", "__version__"]


class A2AInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instrument a2a-sdk's clients and servers; see the module docstring.

    a2a-sdk is imported only when :meth:`instrument` runs, so the entry point loads even
    where a2a-sdk is missing (``instrument()`` then refuses, as contrib instrumentors do).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        if (missing := missing_framework(self)) is not None:
            # opentelemetry-instrument skips the per-instrumentor check (skip_dep_check=True).
            logging.getLogger(__name__).debug("otel-identity a2a instrumentation skipped: %s", missing)
            self._client_patched, self._server_patched = [], []
            return
        from otel_identity_a2a._client import instrument_client
        from otel_identity_a2a._server import instrument_server

        tracer = trace.get_tracer(__name__, __version__, tracer_provider=kwargs.get("tracer_provider"))
        # BaseInstrumentor is a singleton: state lives on the one instance between instrument() calls.
        self._client_patched = instrument_client(tracer)
        self._server_patched = instrument_server(tracer)

    def _uninstrument(self, **kwargs: Any) -> None:
        from otel_identity_a2a._client import uninstrument_client
        from otel_identity_a2a._server import uninstrument_server

        uninstrument_client(getattr(self, "_client_patched", []))
        uninstrument_server(getattr(self, "_server_patched", []))
        self._client_patched = []
        self._server_patched = []
