"""Every PromQL query (dashboards and the data sources' trace-to-metrics links) and the Prometheus config
pass promtool; promtool is shown to reject broken ones."""

from __future__ import annotations

from pathlib import Path

from dashboard_tools import (
    PROMETHEUS_CONFIG,
    dashboard_promql,
    executable,
    promtool_check_rules,
    provisioned_promql,
    run,
    substitute,
)


def test_every_promql_query_parses(tmp_path: Path) -> None:
    queries = dashboard_promql() + provisioned_promql()
    assert len(queries) >= 12, queries
    done = promtool_check_rules(queries, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(queries)} rules found" in done.stdout


def test_promtool_rejects_broken_promql(tmp_path: Path) -> None:
    for broken in (
        "sum(rate(traces_span_metrics_calls_total[5m])",
        "sum by (service_name (rate(traces_span_metrics_calls_total[5m]))",
        'rate(traces_span_metrics_calls_total{span_kind="SPAN_KIND_SERVER"}[five minutes])',
        "histogram_quantile(0.95, sum by (le) rate(x[$__rate_interval]))",
    ):
        done = promtool_check_rules([broken], tmp_path)
        assert done.returncode != 0, broken
        assert "could not parse expression" in done.stdout + done.stderr


def test_grafana_variables_are_replaced_before_parsing() -> None:
    assert substitute("rate(x[$__rate_interval]) / increase(x[$__range])") == "rate(x[1m]) / increase(x[1h])"
    assert substitute("sum(rate(x{$__tags}[5m]))") == 'sum(rate(x{service_name="concierge"}[5m]))'


def test_prometheus_config_passes_promtool() -> None:
    done = run([executable("promtool"), "check", "config", str(PROMETHEUS_CONFIG)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_rejects_a_broken_prometheus_config(tmp_path: Path) -> None:
    broken = tmp_path / "prometheus.yml"
    broken.write_text(
        PROMETHEUS_CONFIG.read_text(encoding="utf-8").replace("scrape_interval: 15s", "scrape_interval: fast"),
        encoding="utf-8",
    )
    assert "scrape_interval: fast" in broken.read_text(encoding="utf-8")
    done = run([executable("promtool"), "check", "config", str(broken)])
    assert done.returncode != 0
