"""Real parts for tests, benchmarks and the demo: a scripted model, local servers, an A2A echo agent.

otel-identity is tested against real frameworks over real HTTP on 127.0.0.1; only the
language model is replaced. What every suite needs for that lives here once:

* :mod:`otel_identity_testing.scripted_chat`: :class:`ScriptedChatClient`, a deterministic
  agent-framework chat client (rules instead of a model).
* :mod:`otel_identity_testing.servers`: uvicorn on 127.0.0.1 that says when it accepts
  connections (:class:`ReadyServer`), in a thread of its own (:class:`ServerThread`) or in the
  caller's event loop (:func:`serve_in_loop`), with keep-alive settings that cannot race a
  client's reuse of a connection (:data:`SERVER_KEEP_ALIVE`).
* :mod:`otel_identity_testing.a2a`: an a2a-sdk JSON-RPC app for any executor
  (:func:`jsonrpc_app`), and :class:`EchoA2AServer`, a minimal agent that completes every task.

Installed with the ``demo`` extra (agent-framework, a2a-sdk, uvicorn); the core package
``otel_identity`` never imports it.
"""

from __future__ import annotations

__all__: list[str] = []
