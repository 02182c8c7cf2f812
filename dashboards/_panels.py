"""Panel and query builders shared by the dashboards: one look, one way to point at a data source."""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import nodegraph, prometheus, table, tempo, timeseries
from grafana_foundation_sdk.models import common, dashboard
from grafana_foundation_sdk.models import tempo as tempo_models

from dashboards._names import PROMETHEUS, TEMPO

__all__ = [
    "A2A_UID",
    "SEARCH_LIMIT",
    "SESSIONS_UID",
    "SESSION_DETAIL_UID",
    "SPANS_PER_SPANSET",
    "TAGS",
    "data_link",
    "link",
    "promql",
    "service_graph",
    "session_link",
    "span_table",
    "tempo_metrics",
    "tempo_search",
    "time_series",
    "traceql_time_series",
]

SESSIONS_UID = "otel-identity-sessions"
SESSION_DETAIL_UID = "otel-identity-session"
A2A_UID = "otel-identity-a2a"
TAGS = ["otel-identity", "agents"]

SEARCH_LIMIT = 200
"""Traces a span search returns (Grafana's default is 20)."""
SPANS_PER_SPANSET = 100
"""Spans a span search returns per trace (Grafana's default is 3; Tempo caps it at 100 by default)."""


def tempo_search(
    query: str, *, table_type: tempo_models.SearchTableType = tempo_models.SearchTableType.SPANS
) -> tempo.TempoQuery:
    """A TraceQL search shown as a table (one row per matched span, or per trace)."""
    return (
        tempo.TempoQuery()
        .ref_id("A")
        .datasource(TEMPO)
        .query_type(tempo_models.TempoQueryType.TRACEQL)
        .query(query)
        .table_type(table_type)
        .limit(SEARCH_LIMIT)
        .spss(SPANS_PER_SPANSET)
    )


def tempo_metrics(query: str) -> tempo.TempoQuery:
    """A TraceQL metrics query (Tempo's metrics-generator ``local-blocks``), as series over time."""
    return (
        tempo.TempoQuery()
        .ref_id("A")
        .datasource(TEMPO)
        .query_type(tempo_models.TempoQueryType.TRACEQL)
        .query(query)
        .metrics_query_type(tempo_models.MetricsQueryType.RANGE)
    )


def promql(expr: str, legend: str, *, ref_id: str = "A") -> prometheus.Dataquery:
    return prometheus.Dataquery().ref_id(ref_id).datasource(PROMETHEUS).expr(expr).legend_format(legend).range()


def _legend() -> common_builders.VizLegendOptions:
    return (
        common_builders.VizLegendOptions()
        .show_legend(True)
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.BOTTOM)
        .calcs(["max", "lastNotNull"])
    )


def time_series(
    title: str, description: str, queries: Sequence[prometheus.Dataquery], *, unit: str
) -> timeseries.Panel:
    """Prometheus series (span metrics or service-graph metrics) over time."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .legend(_legend())
        .fill_opacity(10)
        .height(8)
        .span(12)
    )
    for query in queries:
        panel = panel.with_target(query)
    return panel


def traceql_time_series(title: str, description: str, query: str, *, unit: str) -> timeseries.Panel:
    """TraceQL metrics over time: no span metrics needed, so it works on any Tempo with local-blocks."""
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(TEMPO)
        .with_target(tempo_metrics(query))
        .unit(unit)
        .legend(_legend())
        .fill_opacity(10)
        .height(8)
        .span(12)
    )


def span_table(title: str, description: str, query: str, *, height: int = 9, width: int = 24) -> table.Panel:
    """A TraceQL span search as a table; Tempo's ``Span ID`` column links into the trace view."""
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(TEMPO)
        .with_target(tempo_search(query))
        .height(height)
        .span(width)
        .filterable(True)
    )


def service_graph(title: str, description: str) -> nodegraph.Panel:
    """Tempo's service graph (its ``serviceMap`` query reads the service-graph metrics in Prometheus)."""
    return (
        nodegraph.Panel()
        .title(title)
        .description(description)
        .datasource(TEMPO)
        .with_target(
            tempo.TempoQuery().ref_id("A").datasource(TEMPO).query_type(tempo_models.TempoQueryType.SERVICE_MAP)
        )
        .height(10)
        .span(24)
    )


def data_link(title: str, url: str) -> dashboard.DynamicConfigValue:
    """Field links (a ``links`` override property)."""
    return dashboard.DynamicConfigValue(id_val="links", value=[{"title": title, "url": url}])


def session_link() -> dashboard.DynamicConfigValue:
    """Open the session detail dashboard for the session in this cell, same time range."""
    return data_link("Session detail", f"/d/{SESSION_DETAIL_UID}?var-session=${{__value.url}}&${{__url_time_range}}")


def link(title: str, uid: str, *, include_vars: bool = False) -> dashboard_builders.DashboardLink:
    """A dashboard link at the top of a dashboard."""
    return (
        dashboard_builders.DashboardLink(title)
        .type(dashboard.DashboardLinkType.LINK)
        .url(f"/d/{uid}")
        .keep_time(True)
        .include_vars(include_vars)
        .icon("dashboard")
        .target_blank(False)
        .as_dropdown(False)
        .tooltip(title)
    )
