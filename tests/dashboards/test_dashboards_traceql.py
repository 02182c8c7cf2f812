"""Every TraceQL query of the dashboards parses with Grafana's own grammar (@grafana/lezer-traceql)."""

from __future__ import annotations

from typing import Any

from dashboard_tools import run_node, traceql_queries


def parse(queries: list[str]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = run_node("traceql-check.cjs", queries)
    assert [result["query"] for result in results] == queries
    return results


def test_every_traceql_query_parses() -> None:
    queries = traceql_queries()
    assert len(queries) >= 12, queries  # the sessions table, detail tables, TraceQL metrics, failing tasks
    failed = {result["query"]: result["errors"] for result in parse(queries) if result["errors"]}
    assert not failed, failed


def test_the_grammar_rejects_broken_queries() -> None:
    broken = [
        "{ span.session.id = }",
        '{ span.session.id = "s" && }',
        '{ span.session.id = "s" | select(span.a2a.task.id)',
        "{ status = error } | rate() by (",
        "{ span.gen_ai.operation.name = invoke_agent",
        'span.session.id = "s"',
    ]
    results = parse(broken)
    assert all(result["errors"] for result in results), [r["query"] for r in results if not r["errors"]]


def test_the_grammar_reads_scopes_and_intrinsics() -> None:
    (result,) = parse(['{ span.session.id = "$session" && kind = server } | select(resource.service.name, status)'])
    assert result["errors"] == []
    assert result["attributes"] == [
        {"scope": "span", "name": "session.id"},
        {"scope": "resource", "name": "service.name"},
    ]
    assert result["intrinsics"] == ["kind", "status"]
