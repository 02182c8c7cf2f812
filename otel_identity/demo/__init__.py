"""The otel-identity demo: a concierge agent delegating over A2A to flights and hotels agents.

Needs the ``demo`` extra (agent-framework, a2a-sdk, uvicorn). Nothing here is imported by
``otel_identity`` itself, so the core stays free of framework dependencies.
"""
