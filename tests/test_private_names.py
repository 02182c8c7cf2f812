"""Every framework private name our instrumentors use is still there, with the shape we rely on.

Fails with the registry entry and what moved (the installed version, the missing name, the
parameters found), so an upgrade that breaks a private name is seen here, not in production
telemetry.
"""

from __future__ import annotations

import dataclasses

import pytest
from otel_identity_a2a._private import REGISTRY as A2A_REGISTRY
from otel_identity_ag_ui._private import REGISTRY as AG_UI_REGISTRY
from otel_identity_agent_framework._private import REGISTRY as AF_REGISTRY
from otel_identity_agent_framework._workflow_private import REGISTRY as WORKFLOW_REGISTRY

from otel_identity.instrumentation import PrivateName

REGISTRY = (*AF_REGISTRY, *WORKFLOW_REGISTRY, *A2A_REGISTRY, *AG_UI_REGISTRY)


@pytest.mark.parametrize("name", REGISTRY, ids=str)
def test_private_name_is_where_the_registry_says(name: PrivateName) -> None:
    assert name.problem() is None, f"{name}: {name.problem()}"
    assert name.resolve() is not None


def test_each_name_is_gated_by_the_distribution_that_ships_it() -> None:
    owners = {
        "agent_framework_a2a": "agent-framework-a2a",
        "agent_framework_ag_ui": "agent-framework-ag-ui",
        "agent_framework": "agent-framework-core",
        "a2a": "a2a-sdk",
    }
    for name in REGISTRY:
        top = name.module.split(".")[0]
        assert name.distribution == owners[top], name


def test_a_name_outside_its_range_or_moved_is_not_used() -> None:
    name = REGISTRY[0]
    outside = dataclasses.replace(name, versions="<0")
    assert "outside the verified range" in (outside.problem() or "")
    assert outside.resolve() is None
    moved = dataclasses.replace(name, qualname=name.qualname + "_renamed")
    assert "not found" in (moved.problem() or "")
    with_parameters = next(entry for entry in REGISTRY if entry.parameters)
    reshaped = dataclasses.replace(with_parameters, parameters=("something_else",))
    assert "expected ['something_else']" in (reshaped.problem() or "")
    missing = dataclasses.replace(name, distribution="not-a-distribution-xyz")
    assert missing.problem() == "not-a-distribution-xyz is not installed"
