"""The private names of agent-framework-core the workflow instrumentation uses, as versioned data.

Same contract as :mod:`otel_identity_agent_framework._private` (each gated by its own
distribution's version, each with a public fallback); kept beside the workflow code so the
two can move together. :data:`REGISTRY` lists them for the registry check.
"""

from __future__ import annotations

from typing import Final

from otel_identity.instrumentation import PrivateName

__all__ = ["REGISTRY", "WORKFLOW_ACTIVE_RUN", "WORKFLOW_SPAN_START"]

_CORE: Final = "agent-framework-core"
_CORE_RANGE: Final = ">=1.23,<2"

WORKFLOW_SPAN_START: Final = PrivateName(
    _CORE, _CORE_RANGE, "agent_framework._workflows._workflow", "start_workflow_span", ("name", "attributes")
)
"""The module-level name through which ``Workflow`` starts its ``workflow.run`` span (never current outside
its own pulls): wrapped to take that span as the run span. Fallback: no markers on the framework's span."""

WORKFLOW_ACTIVE_RUN: Final = PrivateName(
    _CORE, _CORE_RANGE, "agent_framework._workflows._workflow", "Workflow._active_run", instance_attribute=True
)
"""Weak reference to the run's ``ResponseStream``, set by ``run()`` before it returns the awaitable: read to
watch an awaited run's events. Fallback: issued requests read from the awaited result (reaches only a run span
still open then)."""

REGISTRY: Final = (WORKFLOW_SPAN_START, WORKFLOW_ACTIVE_RUN)
