"""The dashboards query only attributes the project emits, and no metric dimension is an id."""

from __future__ import annotations

from collections.abc import Iterable

from dashboard_tools import (
    COLLECTOR_CONFIG,
    TEMPO_CONFIG,
    dashboard_promql,
    load_yaml,
    metric_dimensions,
    promql_labels,
    provisioned_promql,
    run_node,
    substitute,
    tempo_dimensions,
    traceql_queries,
)

from dashboards import _names
from otel_identity import attributes as attr

ALLOWED = attr.IDENTITY_ATTRIBUTES | _names.SEMCONV_ATTRIBUTES | _names.FRAMEWORK_ATTRIBUTES
RESOURCE_ATTRIBUTES = {_names.SERVICE_NAME}
LOW_CARDINALITY_IDENTITY = {attr.A2A_TASK_STATE}
"""Identity attributes that are enums, not ids: fine as metric dimensions."""

SPANMETRICS_LABELS = {"service_name", "span_name", "span_kind", "status_code", "le"}
SERVICE_GRAPH_LABELS = {"client", "server", "connection_type", "le"}


def id_dimensions(names: Iterable[str]) -> list[str]:
    """The names that would put an id (session, conversation, task, response, run ...) into a metric label."""
    ids = attr.IDENTITY_ATTRIBUTES - LOW_CARDINALITY_IDENTITY
    return [
        name
        for name in names
        if name in ids or name.endswith((".id", "_id", ".ids", "_ids")) or name in {"session", "trace_id", "span_id"}
    ]


def test_every_traceql_attribute_is_one_the_project_emits() -> None:
    results = run_node("traceql-check.cjs", traceql_queries())
    seen = {(a["scope"], a["name"]) for result in results for a in result["attributes"]}
    assert ("span", attr.SESSION_ID) in seen and ("span", attr.RUN_ID) in seen
    unknown = sorted(name for _, name in seen if name not in ALLOWED)
    assert not unknown, f"not written by otel-identity nor an allowed semconv attribute: {unknown}"
    for scope, name in seen:
        expected = "resource" if name in RESOURCE_ATTRIBUTES else "span"
        assert scope == expected, f"{scope}.{name}: the attribute is on the {expected}"


def test_every_promql_label_is_a_metric_label_of_the_stack() -> None:
    dimensions = metric_dimensions(load_yaml(COLLECTOR_CONFIG))
    allowed = SPANMETRICS_LABELS | SERVICE_GRAPH_LABELS | {_names.label(name) for name in dimensions}
    used: set[str] = set()
    for expr in dashboard_promql() + provisioned_promql():
        used |= promql_labels(substitute(expr))
    assert {"service_name", "gen_ai_agent_name", "a2a_task_state", "client", "server"} <= used
    assert used <= allowed, sorted(used - allowed)


def test_span_metric_dimensions_are_attributes_the_dashboards_may_query() -> None:
    dimensions = metric_dimensions(load_yaml(COLLECTOR_CONFIG))
    assert dimensions, "the spanmetrics connector has no dimensions"
    assert set(dimensions) <= ALLOWED


def test_no_metric_dimension_is_an_id() -> None:
    collector = metric_dimensions(load_yaml(COLLECTOR_CONFIG))
    tempo = tempo_dimensions(load_yaml(TEMPO_CONFIG))
    assert id_dimensions(collector + tempo) == []


def test_the_id_check_catches_ids() -> None:
    names = [attr.SESSION_ID, attr.GEN_AI_CONVERSATION_ID, attr.A2A_TASK_ID, attr.GEN_AI_RESPONSE_ID, attr.RUN_ID]
    assert id_dimensions([*names, "user.id", attr.A2A_REFERENCE_TASK_IDS]) == [
        *names,
        "user.id",
        attr.A2A_REFERENCE_TASK_IDS,
    ]
    assert id_dimensions([attr.A2A_TASK_STATE, attr.GEN_AI_AGENT_NAME, attr.A2A_METHOD_NAME]) == []
    broken = load_yaml(COLLECTOR_CONFIG)
    broken["connectors"]["spanmetrics"]["dimensions"].append({"name": attr.SESSION_ID})
    assert id_dimensions(metric_dimensions(broken)) == [attr.SESSION_ID]
