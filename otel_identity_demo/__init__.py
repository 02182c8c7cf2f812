"""The otel-identity demo: a concierge agent delegating over A2A to flights and hotels agents.

Needs the ``demo`` extra (agent-framework, agent-framework-orchestrations, a2a-sdk, uvicorn).
Nothing here is imported by ``otel_identity`` itself, so the core stays free of framework
dependencies.

Usage
-----
::

    otel-identity demo                                  # spans to ./otel-identity-demo.jsonl, then the report
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 otel-identity demo   # spans to a collector / Phoenix
    otel-identity sessions otel-identity-demo.jsonl     # the report again, from the file

Three processes on 127.0.0.1, each its own ``service.name``: ``concierge``
(:mod:`~otel_identity_demo.concierge`, an agent-framework ``Agent`` calling the others through
``A2AAgent``, and running a Sequential planner -> reviewer pipeline as an agent in its own process)
and two agent-framework agents hosted with a2a-sdk through ``A2AExecutor``
(:mod:`~otel_identity_demo.flights`, :mod:`~otel_identity_demo.hotels`). The model of every
agent is the deterministic :class:`~otel_identity_testing.scripted_chat.ScriptedChatClient`; what
the users say and what the models answer is in :mod:`~otel_identity_demo.script`. The runner
(:mod:`~otel_identity_demo.runner`) starts, watches and stops the processes.

Options: ``--output FILE``, ``--port-base N`` (flights on N, hotels on N+1; default: free
ports), ``--run-tag TAG`` (suffix of the session ids), ``--pace SECONDS`` (between a
session's turns, to watch traces arrive), ``--json``.
"""
