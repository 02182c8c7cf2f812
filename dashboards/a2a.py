"""Dashboard "A2A across services": who calls whom, which A2A methods, which task outcomes.

The service graph and the client -> server series come from Tempo's service-graph metrics
(the same in ``grafana/otel-lgtm``); calls and task states by side come from the Collector's
span metrics (dimensions ``a2a.method.name`` and ``a2a.task.state``, both low-cardinality) and
from TraceQL metrics; failing and cancelled tasks are listed from traces, each linked to its
session.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders

from dashboards import _names as n
from dashboards import _panels as p
from dashboards import _transforms as t
from dashboards._traceql import any_of, equals, exists, intrinsic, resource, select, span, spanset
from otel_identity import attributes as attr

__all__ = ["FAILED_TASKS_QUERY", "UID", "build"]

UID = p.A2A_UID

FAILED_TASKS_QUERY = select(
    spanset(any_of(*(equals(span(attr.A2A_TASK_STATE), state) for state in n.FAILED_TASK_STATES))),
    resource(n.SERVICE_NAME),
    intrinsic("kind"),
    span(attr.A2A_METHOD_NAME),
    span(attr.A2A_TASK_ID),
    span(attr.A2A_TASK_STATE),
    span(n.ERROR_TYPE),
    span(attr.SESSION_ID),
)
"""Spans that reported a task as failed, rejected or cancelled."""


def _calls_by_side(kind: str) -> str:
    method = n.A2A_METHOD_LABEL
    return (
        f"sum by ({n.SERVICE_LABEL}, {method}) "
        f'(rate({n.CALLS}{{{n.SPAN_KIND_LABEL}="{kind}", {method}!=""}}[$__rate_interval]))'
    )


def _states_by_side(kind: str) -> str:
    state = n.A2A_TASK_STATE_LABEL
    return (
        f"sum by ({n.SERVICE_LABEL}, {state}) "
        f'(rate({n.CALLS}{{{n.SPAN_KIND_LABEL}="{kind}", {state}!=""}}[$__rate_interval]))'
    )


def build() -> dashboard_builders.Dashboard:
    service, method, state = (
        f"{{{{{n.SERVICE_LABEL}}}}}",
        f"{{{{{n.A2A_METHOD_LABEL}}}}}",
        f"{{{{{n.A2A_TASK_STATE_LABEL}}}}}",
    )
    edge = "{{client}} → {{server}}"
    return (
        dashboard_builders.Dashboard("A2A across services")
        .uid(UID)
        .description(
            "A2A calls between agent services: service graph, methods, task states, failing tasks (otel-identity)."
        )
        .tags(p.TAGS)
        .time("now-1h", "now")
        .refresh("30s")
        .link(p.link("Agent sessions", p.SESSIONS_UID))
        .link(p.link("Session detail", p.SESSION_DETAIL_UID))
        .with_panel(
            p.service_graph(
                "Service graph",
                "Services and the calls between them (Tempo service graphs: client span in one service, server span "
                "in the other). Click a node or an edge for its traces.",
            )
        )
        .with_panel(
            p.time_series(
                "Requests client → server",
                "Requests per second between two services, from Tempo's service-graph metrics.",
                [p.promql(f"sum by (client, server) (rate({n.GRAPH_REQUESTS}[$__rate_interval]))", edge)],
                unit="reqps",
            )
        )
        .with_panel(
            p.time_series(
                "Failed requests client → server",
                "Failed requests per second between two services (either side ERROR), from service-graph metrics.",
                [p.promql(f"sum by (client, server) (rate({n.GRAPH_FAILED}[$__rate_interval]))", edge)],
                unit="reqps",
            )
        )
        .with_panel(
            p.time_series(
                "A2A calls by client service and method",
                "A2A calls a service made (CLIENT spans) per second, by a2a.method.name, from span metrics.",
                [p.promql(_calls_by_side(n.SPAN_KIND_CLIENT), f"{service} {method}")],
                unit="reqps",
            )
        )
        .with_panel(
            p.time_series(
                "A2A calls by server service and method",
                "A2A requests a service handled (SERVER spans) per second, by a2a.method.name, from span metrics.",
                [p.promql(_calls_by_side(n.SPAN_KIND_SERVER), f"{service} {method}")],
                unit="reqps",
            )
        )
        .with_panel(
            p.time_series(
                "Task states reported to clients",
                "A2A calls per second by the task state the client saw at the end of the call (a2a.task.state).",
                [p.promql(_states_by_side(n.SPAN_KIND_CLIENT), f"{service} {state}")],
                unit="reqps",
            )
        )
        .with_panel(
            p.time_series(
                "Task states reported by servers",
                "A2A requests per second by the task state the server reported (a2a.task.state).",
                [p.promql(_states_by_side(n.SPAN_KIND_SERVER), f"{service} {state}")],
                unit="reqps",
            )
        )
        .with_panel(
            p.time_series(
                "Latency client → server (p95)",
                "p95 of the server side's duration per client -> server edge, from service-graph metrics.",
                [
                    p.promql(
                        f"histogram_quantile(0.95, sum by (le, client, server) "
                        f"(rate({n.GRAPH_SERVER_SECONDS_BUCKET}[$__rate_interval])))",
                        edge,
                    )
                ],
                unit="s",
            )
        )
        .with_panel(
            p.traceql_time_series(
                "Task states by server (TraceQL metrics)",
                "A2A server spans per task state and service, with TraceQL metrics (no span metrics needed).",
                spanset("kind = server", exists(span(attr.A2A_TASK_STATE)))
                + f" | count_over_time() by ({resource(n.SERVICE_NAME)}, {span(attr.A2A_TASK_STATE)})",
                unit="short",
            )
        )
        .with_panel(
            p.span_table(
                "Failed, rejected and cancelled tasks",
                "A2A spans that reported a task as TASK_STATE_FAILED, TASK_STATE_REJECTED or TASK_STATE_CANCELED, "
                "newest first. Span ID opens the trace; session.id opens the session.",
                FAILED_TASKS_QUERY,
            )
            .with_transformation(t.sort_by(t.START_TIME, desc=True))
            .with_transformation(t.organize({}, exclude=["Trace Service", "Trace Name"]))
            .override_by_name(attr.SESSION_ID, [p.session_link()])
        )
    )
