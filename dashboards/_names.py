"""Every name the dashboards query: data sources, span attributes, metrics and their labels.

Span attributes come from :mod:`otel_identity.attributes` (what otel-identity writes) and from
the semantic conventions (what the frameworks and the SDK write); nothing is spelled twice.
Metric and label names are those of the stack in ``deploy/``: the Collector's ``spanmetrics``
connector exported by its ``prometheus`` exporter (``traces_span_metrics_*``), and Tempo's
metrics-generator service graphs remote-written to Prometheus (``traces_service_graph_*``, the
same names ``grafana/otel-lgtm`` produces).
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.models.dashboard import DataSourceRef
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.service_attributes import SERVICE_NAME

from otel_identity import attributes as attr

__all__ = [
    "A2A_METHOD_LABEL",
    "A2A_TASK_STATE_LABEL",
    "AGENT_NAME_LABEL",
    "CALLS",
    "DURATION_BUCKET",
    "ERROR_TYPE",
    "EXECUTOR_ID",
    "FAILED_TASK_STATES",
    "FRAMEWORK_ATTRIBUTES",
    "GRAPH_FAILED",
    "GRAPH_REQUESTS",
    "GRAPH_SERVER_SECONDS_BUCKET",
    "INVOKE_AGENT",
    "LOKI",
    "OPERATION_LABEL",
    "PROMETHEUS",
    "SEMCONV_ATTRIBUTES",
    "SERVICE_LABEL",
    "SERVICE_NAME",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_LABEL",
    "SPAN_KIND_SERVER",
    "STATUS_CODE_ERROR",
    "STATUS_CODE_LABEL",
    "TEMPO",
    "WORKFLOW_NAME",
    "WORKFLOW_RUN_SPAN",
    "label",
    "loki_name",
]

TEMPO: Final = DataSourceRef(type_val="tempo", uid="tempo")
"""Tempo, by the uid ``grafana/otel-lgtm`` gives it too."""
PROMETHEUS: Final = DataSourceRef(type_val="prometheus", uid="prometheus")
"""Prometheus, by the uid ``grafana/otel-lgtm`` gives it too."""
LOKI: Final = DataSourceRef(type_val="loki", uid="loki")
"""Loki, by the uid ``grafana/otel-lgtm`` gives it too."""

SEMCONV_ATTRIBUTES: Final[frozenset[str]] = frozenset(
    {
        SERVICE_NAME,
        ERROR_TYPE,
        attr.GEN_AI_OPERATION_NAME,
        attr.GEN_AI_AGENT_NAME,
        attr.A2A_METHOD_NAME,
    }
)
"""Attributes the dashboards may query besides ``IDENTITY_ATTRIBUTES``: written by the SDK
(``service.name``), the frameworks' GenAI instrumentation and our A2A instrumentation."""

# agent-framework's workflow telemetry (agent_framework.observability.OtelAttr): no semantic convention names these.
WORKFLOW_RUN_SPAN: Final = "workflow.run"
"""The span of one workflow run (``Workflow.run``, also inside a ``WorkflowAgent`` run)."""
WORKFLOW_NAME: Final = "workflow.name"
"""On the ``workflow.run`` span: the workflow's name (an orchestration builder's ``name=``)."""
EXECUTOR_ID: Final = "executor.id"
"""On each ``executor.process`` span: the executor that processed a message (a participant: its agent's name)."""
FRAMEWORK_ATTRIBUTES: Final[frozenset[str]] = frozenset({WORKFLOW_NAME, EXECUTOR_ID})
"""Attributes the dashboards may query that a framework's own instrumentation writes (agent-framework's workflows)."""

INVOKE_AGENT: Final = "invoke_agent"
"""``gen_ai.operation.name`` of an agent run span."""
FAILED_TASK_STATES: Final = ("TASK_STATE_FAILED", "TASK_STATE_REJECTED", "TASK_STATE_CANCELED")
"""A2A task states a task ends in without the work done."""


def label(attribute: str) -> str:
    """The Prometheus label a span attribute becomes as a ``spanmetrics`` dimension."""
    return attribute.replace(".", "_")


def loki_name(attribute: str) -> str:
    """The name Loki's OTLP ingestion gives an attribute (index label or structured metadata): dots become ``_``."""
    return attribute.replace(".", "_")


# The spanmetrics connector (namespace ``traces.span.metrics``, duration unit ms).
CALLS: Final = "traces_span_metrics_calls_total"
DURATION_BUCKET: Final = "traces_span_metrics_duration_milliseconds_bucket"
SERVICE_LABEL: Final = label(SERVICE_NAME)
SPAN_KIND_LABEL: Final = "span_kind"
STATUS_CODE_LABEL: Final = "status_code"
SPAN_KIND_CLIENT: Final = "SPAN_KIND_CLIENT"
SPAN_KIND_SERVER: Final = "SPAN_KIND_SERVER"
STATUS_CODE_ERROR: Final = "STATUS_CODE_ERROR"
OPERATION_LABEL: Final = label(attr.GEN_AI_OPERATION_NAME)
AGENT_NAME_LABEL: Final = label(attr.GEN_AI_AGENT_NAME)
A2A_METHOD_LABEL: Final = label(attr.A2A_METHOD_NAME)
A2A_TASK_STATE_LABEL: Final = label(attr.A2A_TASK_STATE)

# Tempo's service-graphs processor (labels ``client``, ``server``, ``connection_type``).
GRAPH_REQUESTS: Final = "traces_service_graph_request_total"
GRAPH_FAILED: Final = "traces_service_graph_request_failed_total"
GRAPH_SERVER_SECONDS_BUCKET: Final = "traces_service_graph_request_server_seconds_bucket"
