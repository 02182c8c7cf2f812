"""Dashboard "Agent sessions": every session in the time range, runs and errors over time, latency by agent.

The sessions table is one TraceQL span search (the spans of a session that matter: agent runs,
A2A calls, responses, errors) turned into one row per ``session.id`` by Grafana
transformations; its session cells open the session detail dashboard. The time series come
from the Collector's span metrics (Prometheus) and, where no span metrics exist (e.g.
``grafana/otel-lgtm``), from TraceQL metrics.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.models import dashboard

from dashboards import _names as n
from dashboards import _panels as p
from dashboards import _transforms as t
from dashboards._traceql import any_of, equals, exists, intrinsic, resource, select, span, spanset
from otel_identity import attributes as attr

__all__ = ["SESSIONS_QUERY", "UID", "build", "sessions_table_transformations"]

UID = p.SESSIONS_UID

SESSIONS_QUERY = select(
    spanset(
        exists(span(attr.SESSION_ID)),
        any_of(
            equals(span(attr.GEN_AI_OPERATION_NAME), n.INVOKE_AGENT),
            exists(span(attr.A2A_METHOD_NAME)),
            exists(span(attr.GEN_AI_RESPONSE_ID)),
            "status = error",
        ),
    ),
    span(attr.SESSION_ID),
    resource(n.SERVICE_NAME),
    span(attr.RUN_ID),
    span(attr.A2A_TASK_ID),
    span(attr.GEN_AI_RESPONSE_ID),
    intrinsic("status"),
)
"""The spans that make a session's numbers: its runs, A2A calls, responses and errors."""

# Column titles of the sessions table.
SESSION = "Session"
SERVICES = "Services"
TRACES = "Traces"
RUNS = "Runs"
TASKS = "Tasks"
RESPONSES = "Responses"
ERRORS = "Errors"
FIRST_SEEN = "First seen"
LAST_SEEN = "Last seen"
DURATION = "Duration"


def sessions_table_transformations() -> list[dashboard.DataTransformerConfig]:
    """Span rows -> one row per session: services, traces, runs, tasks, responses, errors, first/last seen."""
    counted = {attr.RUN_ID: RUNS, attr.A2A_TASK_ID: TASKS, attr.GEN_AI_RESPONSE_ID: RESPONSES}
    before: list[dashboard.DataTransformerConfig] = [*t.error_flag(), *t.span_end()]
    aggregations: dict[str, list[str]] = {
        n.SERVICE_NAME: ["distinctCount"],
        t.TRACE_ID: ["distinctCount"],
        t.ERROR_FLAG: ["sum"],
        t.START_TIME: ["min"],
        t.SPAN_END: ["max"],
    }
    after: list[dashboard.DataTransformerConfig] = []
    for field, title in counted.items():
        flag, reducers, count = t.present_count(field, title)
        before.append(flag)
        aggregations.update(reducers)
        after.append(count)
    first_seen = t.aggregated(t.START_TIME, "min")
    last_seen = t.aggregated(t.SPAN_END, "max")
    return [
        *before,
        t.group_by(attr.SESSION_ID, aggregations),
        *after,
        t.difference(last_seen, first_seen, DURATION),
        t.convert_to_time(last_seen),
        t.organize(
            {
                attr.SESSION_ID: SESSION,
                t.aggregated(n.SERVICE_NAME, "distinctCount"): SERVICES,
                t.aggregated(t.TRACE_ID, "distinctCount"): TRACES,
                RUNS: RUNS,
                TASKS: TASKS,
                RESPONSES: RESPONSES,
                t.aggregated(t.ERROR_FLAG, "sum"): ERRORS,
                first_seen: FIRST_SEEN,
                last_seen: LAST_SEEN,
                DURATION: DURATION,
            },
            exclude=[t.aggregated(field, reducer) for field in counted for reducer in ("distinctCount",)]
            + [t.aggregated(f"{field} missing", "max") for field in counted],
        ),
        t.sort_by(LAST_SEEN, desc=True),
    ]


def _sessions_table() -> table.Panel:
    return (
        p.span_table(
            "Sessions",
            "One row per session.id: the services it crossed, its traces, runs (otel_identity.run.id), A2A tasks "
            "(a2a.task.id), responses (gen_ai.response.id), spans with status ERROR, and when it was first and last "
            f"seen. Up to {p.SEARCH_LIMIT} traces of the time range, {p.SPANS_PER_SPANSET} spans each. "
            "Click a session to open its detail.",
            SESSIONS_QUERY,
            height=11,
        )
        .transformations(sessions_table_transformations())
        .override_by_name(SESSION, [p.session_link()])
        .override_by_name(DURATION, [dashboard.DynamicConfigValue(id_val="unit", value="ms")])
        .override_by_name(
            ERRORS,
            [
                dashboard.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
                dashboard.DynamicConfigValue(
                    id_val="thresholds",
                    value={
                        "mode": "absolute",
                        "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}],
                    },
                ),
            ],
        )
    )


def build() -> dashboard_builders.Dashboard:
    run = f'{n.OPERATION_LABEL}="{n.INVOKE_AGENT}"'
    return (
        dashboard_builders.Dashboard("Agent sessions")
        .uid(UID)
        .description("Sessions of AI agents across runs, A2A tasks, responses and services (otel-identity).")
        .tags(p.TAGS)
        .time("now-1h", "now")
        .refresh("30s")
        .link(p.link("Session detail", p.SESSION_DETAIL_UID))
        .link(p.link("A2A across services", p.A2A_UID))
        .with_panel(_sessions_table())
        .with_panel(
            p.time_series(
                "Agent runs by service",
                "Agent runs (invoke_agent spans) per second, from the Collector's span metrics.",
                [
                    p.promql(
                        f"sum by ({n.SERVICE_LABEL}) (rate({n.CALLS}{{{run}}}[$__rate_interval]))",
                        f"{{{{{n.SERVICE_LABEL}}}}}",
                    )
                ],
                unit="reqps",
            )
        )
        .with_panel(
            p.time_series(
                "Errors by service",
                "Spans with status ERROR per second, by service and span name, from the Collector's span metrics.",
                [
                    p.promql(
                        f"sum by ({n.SERVICE_LABEL}, span_name) "
                        f'(rate({n.CALLS}{{{n.STATUS_CODE_LABEL}="{n.STATUS_CODE_ERROR}"}}[$__rate_interval]))',
                        f"{{{{{n.SERVICE_LABEL}}}}} {{{{span_name}}}}",
                    )
                ],
                unit="reqps",
            )
        )
        .with_panel(
            p.time_series(
                "Agent run latency by agent",
                "p50 and p95 duration of agent runs (invoke_agent spans) by gen_ai.agent.name, from span metrics.",
                [
                    p.promql(
                        f"histogram_quantile({q}, sum by (le, {n.AGENT_NAME_LABEL}) "
                        f"(rate({n.DURATION_BUCKET}{{{run}}}[$__rate_interval])))",
                        f"p{int(q * 100)} {{{{{n.AGENT_NAME_LABEL}}}}}",
                        ref_id=ref,
                    )
                    for q, ref in ((0.5, "A"), (0.95, "B"))
                ],
                unit="ms",
            )
        )
        .with_panel(
            p.traceql_time_series(
                "Agent run latency p95 by agent (TraceQL metrics)",
                "The same from traces, with TraceQL metrics: works without span metrics (e.g. grafana/otel-lgtm).",
                spanset(equals(span(attr.GEN_AI_OPERATION_NAME), n.INVOKE_AGENT))
                + f" | quantile_over_time(duration, 0.95) by ({span(attr.GEN_AI_AGENT_NAME)})",
                unit="s",
            )
        )
        .with_panel(
            p.traceql_time_series(
                "Agent runs by agent (TraceQL metrics)",
                "Agent runs per second by gen_ai.agent.name, with TraceQL metrics.",
                spanset(equals(span(attr.GEN_AI_OPERATION_NAME), n.INVOKE_AGENT))
                + f" | rate() by ({span(attr.GEN_AI_AGENT_NAME)})",
                unit="reqps",
            )
        )
        .with_panel(
            p.traceql_time_series(
                "Errors by service (TraceQL metrics)",
                "Spans with status ERROR per second by service, with TraceQL metrics.",
                spanset("status = error") + f" | rate() by ({resource(n.SERVICE_NAME)})",
                unit="reqps",
            )
        )
    )
