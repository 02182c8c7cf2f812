"""The framework versions this instrumentor supports (contrib convention: data, not code)."""

from __future__ import annotations

_instruments = ("agent-framework-core >= 1.23, < 2",)
"""Required: the chat agents (``Agent``, ``RawAgent``, ``AgentTelemetryLayer``)."""

_instruments_a2a = ("agent-framework-a2a >= 1.0.0b261022", "a2a-sdk >= 1.3, < 2")
"""Optional: ``A2AAgent`` and ``A2AExecutor`` are instrumented when these are installed."""
