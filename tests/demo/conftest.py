"""Fixtures for the demo tests that run the demo's pipeline in this process: the instrumentor, the telemetry switch."""

from __future__ import annotations

from af_fixtures import framework_telemetry, instrumentor

__all__ = ["framework_telemetry", "instrumentor"]
