"""Dashboard "Agent session detail" (variable ``session``): one conversation across services.

Every run of the session in time order (whatever service ran it), its workflow runs and the
executors that ran in them (agent-framework workflows and orchestrations), its A2A calls and tasks
with their states, its responses and errors, its traces, and its log records (Loki). ``Span ID`` and ``Trace ID``
cells open the trace view. The ``session`` variable is filled by the sessions table's link,
or typed in.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import logs, loki, table
from grafana_foundation_sdk.models import common, dashboard
from grafana_foundation_sdk.models import tempo as tempo_models

from dashboards import _names as n
from dashboards import _panels as p
from dashboards import _transforms as t
from dashboards._traceql import any_of, equals, exists, intrinsic, resource, select, span, spanset
from otel_identity import attributes as attr

__all__ = ["LOGS_QUERY", "TASKS_QUERY", "UID", "VARIABLE", "WORKFLOWS_QUERY", "build", "tasks_table_transformations"]

UID = p.SESSION_DETAIL_UID
VARIABLE = "session"
IN_SESSION = equals(span(attr.SESSION_ID), f"${VARIABLE}")

_HIDE_TRACE_COLUMNS = ["Trace Service", "Trace Name"]

RUNS_QUERY = select(
    spanset(IN_SESSION, equals(span(attr.GEN_AI_OPERATION_NAME), n.INVOKE_AGENT)),
    resource(n.SERVICE_NAME),
    span(attr.GEN_AI_AGENT_NAME),
    span(attr.RUN_ID),
    span(attr.GEN_AI_CONVERSATION_ID),
    span(attr.A2A_TASK_ID),
    span(attr.A2A_TASK_STATE),
    span(attr.GEN_AI_RESPONSE_ID),
    intrinsic("status"),
)
WORKFLOWS_QUERY = select(
    spanset(IN_SESSION, any_of(equals(intrinsic("name"), n.WORKFLOW_RUN_SPAN), exists(span(n.EXECUTOR_ID)))),
    resource(n.SERVICE_NAME),
    span(n.WORKFLOW_NAME),
    span(n.EXECUTOR_ID),
    span(attr.RUN_ID),
    intrinsic("status"),
)
"""Each workflow run of the session (``workflow.run``, by ``workflow.name``) and each message an executor processed
(``executor.process``, by ``executor.id``); the run id ties them to their run in *Runs in time order*."""
A2A_CALLS_QUERY = select(
    spanset(IN_SESSION, exists(span(attr.A2A_METHOD_NAME))),
    resource(n.SERVICE_NAME),
    intrinsic("kind"),
    span(attr.A2A_METHOD_NAME),
    span(attr.A2A_TASK_ID),
    span(attr.A2A_TASK_STATE),
    intrinsic("status"),
    span(n.ERROR_TYPE),
)
TASKS_QUERY = select(
    spanset(IN_SESSION, exists(span(attr.A2A_TASK_ID)), exists(span(attr.A2A_TASK_STATE))),
    span(attr.A2A_TASK_ID),
    span(attr.A2A_TASK_STATE),
    resource(n.SERVICE_NAME),
)
RESPONSES_QUERY = select(
    spanset(
        IN_SESSION,
        any_of(
            exists(span(attr.GEN_AI_RESPONSE_ID)), exists(span(attr.A2A_MESSAGE_ID)), exists(span(attr.ARTIFACT_ID))
        ),
    ),
    resource(n.SERVICE_NAME),
    span(attr.GEN_AI_OPERATION_NAME),
    span(attr.GEN_AI_AGENT_NAME),
    span(attr.RUN_ID),
    span(attr.GEN_AI_RESPONSE_ID),
    span(attr.A2A_MESSAGE_ID),
    span(attr.ARTIFACT_ID),
)
ERRORS_QUERY = select(
    spanset(IN_SESSION, "status = error"),
    resource(n.SERVICE_NAME),
    span(n.ERROR_TYPE),
    span(attr.RUN_ID),
    span(attr.A2A_TASK_ID),
)

LOGS_QUERY = f'{{{n.loki_name(n.SERVICE_NAME)}=~".+"}} | {n.loki_name(attr.SESSION_ID)} = `${VARIABLE}`'
"""Every log record of the session, in any service. ``service_name`` is an index label (a stream
per service); the session is structured metadata, filtered after the stream selector, because a
session id must never be an index label (deploy/loki/loki.yaml)."""

# Column titles of the tasks table.
TASK = "Task"
LAST_STATE = "Last state"
STATES = "States seen"
SERVICES = "Services"
FIRST_SEEN = "First seen"
LAST_SEEN = "Last seen"


def tasks_table_transformations() -> list[dashboard.DataTransformerConfig]:
    """Span rows -> one row per A2A task: its last state, the states seen, services, first/last seen.

    Rows are ordered by span end: a span records the task's state when it ends (the A2A client
    and server spans), so the span that ended last holds the latest state.
    """
    state, service = attr.A2A_TASK_STATE, n.SERVICE_NAME
    last_seen = t.aggregated(t.SPAN_END, "max")
    return [
        *t.span_end(),
        t.sort_by(t.SPAN_END, desc=False),
        t.group_by(
            attr.A2A_TASK_ID,
            {
                state: ["lastNotNull", "uniqueValues"],
                service: ["uniqueValues"],
                t.START_TIME: ["min"],
                t.SPAN_END: ["max"],
            },
        ),
        t.convert_to_time(last_seen),
        t.organize(
            {
                attr.A2A_TASK_ID: TASK,
                t.aggregated(state, "lastNotNull"): LAST_STATE,
                t.aggregated(state, "uniqueValues"): STATES,
                t.aggregated(service, "uniqueValues"): SERVICES,
                t.aggregated(t.START_TIME, "min"): FIRST_SEEN,
                last_seen: LAST_SEEN,
            }
        ),
        t.sort_by(FIRST_SEEN, desc=False),
    ]


def _in_time_order(panel: table.Panel) -> table.Panel:
    return panel.with_transformation(t.sort_by(t.START_TIME, desc=False)).with_transformation(
        t.organize({}, exclude=_HIDE_TRACE_COLUMNS)
    )


def logs_panel() -> logs.Panel:
    """The session's log records, oldest first; a record's trace_id opens its trace (the Loki data source's link)."""
    return (
        logs.Panel()
        .title("Logs of this session")
        .description(
            "Log records and events emitted inside the session, in any service (session.id, stamped by "
            "otel-identity's log processor). Open a record for its run, task and trace id; the trace id links to Tempo."
        )
        .datasource(n.LOKI)
        .with_target(loki.Dataquery().ref_id("A").datasource(n.LOKI).expr(LOGS_QUERY).max_lines(1000))
        .show_time(True)
        .wrap_log_message(True)
        .enable_log_details(True)
        .sort_order(common.LogsSortOrder.ASCENDING)
        .height(10)
        .span(24)
    )


def build() -> dashboard_builders.Dashboard:
    return (
        dashboard_builders.Dashboard("Agent session detail")
        .uid(UID)
        .description("One session (session.id) across runs, A2A tasks, responses and services (otel-identity).")
        .tags(p.TAGS)
        .time("now-6h", "now")
        .refresh("30s")
        .with_variable(
            dashboard_builders.TextBoxVariable(VARIABLE)
            .label("session.id")
            .description("The session to show: click one in Agent sessions, or paste a session.id.")
        )
        .link(p.link("Agent sessions", p.SESSIONS_UID))
        .link(p.link("A2A across services", p.A2A_UID))
        .with_panel(
            _in_time_order(
                p.span_table(
                    "Runs in time order",
                    "Every agent run (invoke_agent span) of the session, in any service, oldest first. Span ID opens "
                    "the run in the trace view.",
                    RUNS_QUERY,
                )
            )
        )
        .with_panel(
            _in_time_order(
                p.span_table(
                    "Workflow runs and executors",
                    "Every workflow run of the session (workflow.run, by workflow.name) and every executor step in it "
                    "(executor.process, by executor.id: an orchestration's participants by agent name), oldest first. "
                    "A workflow run as an agent is also a run above; Span ID opens the trace view.",
                    WORKFLOWS_QUERY,
                    height=7,
                )
            )
        )
        .with_panel(
            p.span_table(
                "A2A tasks",
                "Each A2A task of the session: its last reported state, the states seen (a2a.task.state), the services "
                "that saw it.",
                TASKS_QUERY,
                height=7,
                width=12,
            ).transformations(tasks_table_transformations())
        )
        .with_panel(
            _in_time_order(
                p.span_table(
                    "A2A calls",
                    "Every A2A call of the session, client (CLIENT) and server (SERVER) side, with the task and its "
                    "state after the call.",
                    A2A_CALLS_QUERY,
                    height=7,
                    width=12,
                )
            )
        )
        .with_panel(
            _in_time_order(
                p.span_table(
                    "Responses",
                    "Single results of the session: gen_ai.response.id, a2a.message.id and "
                    "otel_identity.a2a.artifact.id, each on the span that produced or carried it.",
                    RESPONSES_QUERY,
                    height=7,
                    width=12,
                )
            )
        )
        .with_panel(
            _in_time_order(
                p.span_table("Errors", "Spans of the session with status ERROR.", ERRORS_QUERY, height=7, width=12)
            )
        )
        .with_panel(
            table.Panel()
            .title("Traces")
            .description("Every trace with a span of the session; Trace ID opens the trace view.")
            .datasource(n.TEMPO)
            .with_target(p.tempo_search(spanset(IN_SESSION), table_type=tempo_models.SearchTableType.TRACES))
            .height(8)
            .span(12)
        )
        .with_panel(
            p.traceql_time_series(
                "Spans of the session by service",
                "Spans carrying this session.id, per service, with TraceQL metrics.",
                spanset(IN_SESSION) + f" | count_over_time() by ({resource(n.SERVICE_NAME)})",
                unit="short",
            )
        )
        .with_panel(logs_panel())
    )
