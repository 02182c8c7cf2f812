"""Fixtures for the agent-framework tests: the instrumentor and the framework's own telemetry switch (shared)."""

from __future__ import annotations

from af_fixtures import framework_telemetry, instrumentor

__all__ = ["framework_telemetry", "instrumentor"]
