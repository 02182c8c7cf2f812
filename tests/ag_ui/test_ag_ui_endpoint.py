"""A real AG-UI endpoint driven by the official ``@ag-ui/client``: thread and run identities per request.

Two threads, several runs each, concurrently, against an agent and against a workflow: every
span of a request (the HTTP server span, the agent run, chat, tools, workflow spans) carries
the request's ``threadId`` as ``session.id`` and ``gen_ai.conversation.id``; no span carries
another thread's; a tool approval answered in a later request (interrupt, then resume) keeps
the thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ag_ui_support import AGUIServer, make_agent, make_app, run_node_client, server_spans, under
from agent_framework_ag_ui import add_agent_framework_fastapi_endpoint
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_identity import attributes as attr

THREADS = (
    {
        "threadId": "thread-lisbon-1",
        "runs": [
            {"runId": "run-l-1", "text": "hello"},
            {"runId": "run-l-2", "text": "weather in Paris?"},
            {"runId": "run-l-3", "text": "book a room"},
            {"runId": "run-l-4", "approve": True},
        ],
    },
    {
        "threadId": "thread-paris-2",
        "runs": [
            {"runId": "run-p-1", "text": "weather today?"},
            {"runId": "run-p-2", "text": "book it"},
            {"runId": "run-p-3", "approve": True},
            {"runId": "run-p-4", "text": "thanks"},
        ],
    },
)
RUN_THREAD = {run["runId"]: thread["threadId"] for thread in THREADS for run in thread["runs"]}


@pytest.fixture
def server(instrumented: object) -> Iterator[AGUIServer]:
    with AGUIServer(make_app()) as running:
        yield running


def _requests(spans: list[ReadableSpan], path: str) -> dict[object, list[ReadableSpan]]:
    """Per request (keyed by the run id on its server span): the server span and every span below it."""
    result: dict[object, list[ReadableSpan]] = {}
    for root in server_spans(spans, path):
        result[(root.attributes or {}).get(attr.RUN_ID)] = under(spans, root)
    return result


def _names(spans: list[ReadableSpan]) -> set[str]:
    return {span.name.split(" ")[0] for span in spans}


def test_agent_threads_and_runs(server: AGUIServer, spans: InMemorySpanExporter) -> None:
    results = run_node_client(f"{server.base_url}/agent", THREADS)

    by_run = {result["runId"]: result for result in results}
    assert all(result["error"] is None for result in results), results
    assert by_run["run-l-2"]["text"] == "Forecast: sunny in Paris"
    assert by_run["run-l-3"]["interrupts"] and by_run["run-p-2"]["interrupts"]  # approval asked
    assert by_run["run-l-4"]["text"] == "Done: booked in Lisbon"  # ... and answered in the next request
    assert by_run["run-p-3"]["text"] == "Done: booked in Lisbon"

    finished = server.finished_spans(spans)
    requests = _requests(finished, "/agent")
    assert set(requests) == set(RUN_THREAD)  # one server span per request, carrying its own run id
    for run_id, request in requests.items():
        thread = RUN_THREAD[run_id]
        assert {"POST", "invoke_agent", "chat"} <= _names(request)
        for span in request:
            attributes = span.attributes or {}
            assert attributes.get(attr.SESSION_ID) == thread, (run_id, span.name, attributes)
            assert attributes.get(attr.GEN_AI_CONVERSATION_ID) == thread, (run_id, span.name, attributes)
        # The framework's scoped session key (a hash of scope and thread) is not what users see: it is the
        # agent's own session, on its run span only.
        assert not any(str(value).startswith("ag-ui:v1:") for span in request for value in _ids(span))
        (run_span,) = [span for span in request if span.name.startswith("invoke_agent")]
        assert str((run_span.attributes or {}).get(attr.AGENT_SESSION_ID)).startswith("ag-ui:v1:scoped:")
    for run_id in ("run-l-2", "run-p-1", "run-l-4", "run-p-3"):  # the tool calls, the approved ones included
        tools = [span for span in requests[run_id] if span.name.startswith("execute_tool")]
        assert tools and all((span.attributes or {})[attr.SESSION_ID] == RUN_THREAD[run_id] for span in tools)


def test_workflow_threads_and_runs(server: AGUIServer, spans: InMemorySpanExporter) -> None:
    threads = [
        {"threadId": "wf-thread-a", "runs": [{"runId": "wf-a-1", "text": "plan"}, {"runId": "wf-a-2", "text": "more"}]},
        {"threadId": "wf-thread-b", "runs": [{"runId": "wf-b-1", "text": "plan"}, {"runId": "wf-b-2", "text": "bye"}]},
    ]
    results = run_node_client(f"{server.base_url}/workflow", threads)
    assert all(result["error"] is None for result in results), results
    assert all("RUN_FINISHED" in result["events"] for result in results)

    run_thread = {run["runId"]: thread["threadId"] for thread in threads for run in thread["runs"]}
    requests = _requests(server.finished_spans(spans), "/workflow")
    assert set(requests) == set(run_thread)
    for run_id, request in requests.items():
        assert {"workflow.run", "executor.process", "invoke_agent", "chat"} <= _names(request)
        for span in request:
            attributes = span.attributes or {}
            assert attributes.get(attr.SESSION_ID) == run_thread[run_id], (span.name, attributes)
            assert attributes.get(attr.GEN_AI_CONVERSATION_ID) == run_thread[run_id], (span.name, attributes)


def _ids(span: ReadableSpan) -> list[Any]:
    attributes = span.attributes or {}
    return [attributes.get(key) for key in (attr.SESSION_ID, attr.GEN_AI_CONVERSATION_ID)]


def test_parent_run_recorded_on_the_request_span(server: AGUIServer, spans: InMemorySpanExporter) -> None:
    """A run another run spawned (``parentRunId``): the request's span records the run it is nested in."""
    body = {"threadId": "t-child", "runId": "run-child", "parentRunId": "run-parent", "messages": [USER]}
    response = httpx.post(f"{server.base_url}/agent", json=body, timeout=30)
    assert response.status_code == 200 and "RUN_FINISHED" in response.text

    (root,) = server_spans(server.finished_spans(spans), "/agent")
    attributes = root.attributes or {}
    assert (attributes[attr.RUN_ID], attributes[attr.PARENT_RUN_ID]) == ("run-child", "run-parent")
    assert attributes[attr.SESSION_ID] == "t-child"


USER = {"id": "m-1", "role": "user", "content": "hello"}


def test_detached_runs_keep_thread_and_run(instrumented: object, spans: InMemorySpanExporter) -> None:
    """``detached_runs=True``: the run is produced by a background task of the endpoint; it keeps the identities."""
    app = FastAPI()
    add_agent_framework_fastapi_endpoint(app, make_agent(), "/detached", single_user=True, detached_runs=True)
    threads = [
        {"threadId": f"detached-{n}", "runs": [{"runId": f"detached-{n}-{m}", "text": "weather?"} for m in (1, 2)]}
        for n in (1, 2)
    ]
    with AGUIServer(app) as server:
        results = run_node_client(f"{server.base_url}/detached", threads)
    assert [result["text"] for result in results] == ["Forecast: sunny in Paris"] * 4

    requests = _requests(list(spans.get_finished_spans()), "/detached")
    assert set(requests) == {run["runId"] for thread in threads for run in thread["runs"]}
    for run_id, request in requests.items():
        thread = run_id.rsplit("-", 1)[0]
        assert {"POST", "invoke_agent", "chat", "execute_tool"} <= _names(request)
        assert {(span.attributes or {}).get(attr.SESSION_ID) for span in request} == {thread}
        assert {(span.attributes or {}).get(attr.GEN_AI_CONVERSATION_ID) for span in request} == {thread}


def test_workflow_interrupt_and_resume_keep_the_thread(server: AGUIServer, spans: InMemorySpanExporter) -> None:
    """A workflow's request for information is an AG-UI interrupt; the request that answers it keeps the thread."""
    answer = {"approve": True, "resumePayload": {"messages": []}}  # an AgentRequestInfoResponse: approve as is
    threads = [
        {
            "threadId": f"review-{n}",
            "runs": [{"runId": f"review-{n}-ask", "text": "plan"}, {"runId": f"review-{n}-answer", **answer}],
        }
        for n in (1, 2)
    ]
    results = {result["runId"]: result for result in run_node_client(f"{server.base_url}/reviewed", threads)}
    assert all(result["error"] is None for result in results.values()), results

    requests = _requests(server.finished_spans(spans), "/reviewed")
    assert set(requests) == set(results)
    for n in (1, 2):
        thread, asked = f"review-{n}", results[f"review-{n}-ask"]["interrupts"]
        assert len(asked) == 1 and results[f"review-{n}-answer"]["text"] == "reviewer: plan"
        for run_id, marker in (
            (f"review-{n}-ask", attr.PENDING_REQUESTS_ISSUED),
            (f"review-{n}-answer", attr.PENDING_REQUESTS_ANSWERED),
        ):
            request = requests[run_id]
            assert {(span.attributes or {}).get(attr.SESSION_ID) for span in request} == {thread}
            assert {(span.attributes or {}).get(attr.GEN_AI_CONVERSATION_ID) for span in request} == {thread}
            marked = [span for span in request if span.name == "workflow.run" and marker in (span.attributes or {})]
            assert marked and all(tuple((span.attributes or {})[marker]) == tuple(asked) for span in marked)
