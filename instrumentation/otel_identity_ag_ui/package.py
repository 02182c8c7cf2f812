"""The agent-framework-ag-ui versions this instrumentor supports (contrib convention: data, not code)."""

from __future__ import annotations

_instruments = ("agent-framework-ag-ui >= 1.7, < 2",)
"""Required: ``AgentFrameworkAgent.run``, ``AgentFrameworkWorkflow.run`` and ``AGUIHttpService.post_run``."""
