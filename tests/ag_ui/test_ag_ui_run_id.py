"""The request's ``runId`` is the run id of the agent run it starts (needs the core's "upstream run id" rule)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ag_ui_support import AGUIServer, make_app, run_node_client, server_spans, under
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_ag_ui_endpoint import THREADS, _requests

from otel_identity import attributes as attr


@pytest.fixture
def server(instrumented: object) -> Iterator[AGUIServer]:
    with AGUIServer(make_app()) as running:
        yield running


def test_agent_run_id_on_every_span(server: AGUIServer, spans: InMemorySpanExporter) -> None:
    """The request's ``runId`` is the run: ``otel_identity.run.id`` of the agent run and everything in it."""
    run_node_client(f"{server.base_url}/agent", THREADS[:1])

    requests = _requests(server.finished_spans(spans), "/agent")
    assert set(requests) == {run["runId"] for run in THREADS[0]["runs"]}
    for run_id, request in requests.items():
        assert {(span.name, (span.attributes or {}).get(attr.RUN_ID)) for span in request} == {
            (span.name, run_id) for span in request
        }


def test_workflow_run_id_is_the_request_run(server: AGUIServer, spans: InMemorySpanExporter) -> None:
    """The workflow run is the request's run; its participants' runs are nested in it."""
    threads = [{"threadId": "wf-run-thread", "runs": [{"runId": "wf-run-1", "text": "plan"}]}]
    run_node_client(f"{server.base_url}/workflow", threads)

    finished = server.finished_spans(spans)
    (root,) = server_spans(finished, "/workflow")
    request = under(finished, root)
    workflow = [span for span in request if span.name.split(" ")[0] in ("workflow.run", "executor.process")]
    assert workflow and {(span.attributes or {}).get(attr.RUN_ID) for span in workflow} == {"wf-run-1"}
    participants = [span for span in request if span.name.startswith("invoke_agent")]
    assert len(participants) == 2
    assert {(span.attributes or {}).get(attr.PARENT_RUN_ID) for span in participants} == {"wf-run-1"}
