"""Every LogQL query of the dashboards parses with Grafana's own grammar (@grafana/lezer-logql), and finds
the session the way Loki stores it: structured metadata after the stream selector, never an index label."""

from __future__ import annotations

from typing import Any

from dashboard_tools import LOKI_CONFIG, load_yaml, logql_queries, run_node

from dashboards import _names as n
from otel_identity import Identities, TaskHandle
from otel_identity import attributes as attr


def parse(queries: list[str]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = run_node("logql-check.cjs", queries)
    assert [result["query"] for result in results] == queries
    return results


def identity_keys() -> set[str]:
    """Every key the log processor can stamp: one scope with every identity set."""
    full = Identities(
        session_id="s", user_id="u", conversation_id="c", run_id="r", task=TaskHandle("t", state="TASK_STATE_WORKING")
    )
    return set(full.log_attributes())


def test_every_logql_query_parses() -> None:
    queries = logql_queries()
    assert queries, "the session detail dashboard has a logs panel"
    failed = {result["query"]: result["errors"] for result in parse(queries) if result["errors"]}
    assert not failed, failed


def test_the_session_is_a_filter_never_a_stream_selector() -> None:
    session = n.loki_name(attr.SESSION_ID)
    assert session == "session_id"
    for result in parse(logql_queries()):
        assert session in result["filters"], result
        assert set(result["selector"]).isdisjoint({n.loki_name(key) for key in identity_keys()}), result


def test_the_grammar_rejects_broken_queries_and_reads_selector_and_filters() -> None:
    broken = ["{service_name=} | session_id = `s`", '{service_name=~".+"} | session_id =', 'service_name="x"']
    results = parse(broken)
    assert all(result["errors"] for result in results), [r["query"] for r in results if not r["errors"]]
    (good,) = parse(['{service_name="concierge"} | session_id = `s` | json | level = "error"'])
    assert good["errors"] == [] and good["selector"] == ["service_name"]
    assert good["filters"] == ["session_id", "level"]


def test_loki_keeps_every_identity_key_as_structured_metadata() -> None:
    """The keys the log processor stamps (from the placement table) are configured as structured metadata."""
    otlp = load_yaml(LOKI_CONFIG)["limits_config"]["otlp_config"]
    structured = {
        key for rule in otlp["log_attributes"] if rule["action"] == "structured_metadata" for key in rule["attributes"]
    }
    assert identity_keys() <= structured
    # Loki 3.7 can make resource and log attributes index labels: neither may name an identity key.
    index_rules = [*otlp.get("resource_attributes", {}).get("attributes_config", []), *otlp["log_attributes"]]
    labelled = {key for rule in index_rules if rule["action"] == "index_label" for key in rule.get("attributes", [])}
    assert labelled.isdisjoint(identity_keys())
    assert load_yaml(LOKI_CONFIG)["limits_config"]["allow_structured_metadata"] is True
