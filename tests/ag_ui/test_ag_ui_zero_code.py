"""Zero code: an AG-UI app under ``opentelemetry-instrument`` (entry point ``ag_ui``), no FastAPI instrumentation.

A fresh interpreter started by ``opentelemetry-instrument`` loads otel-identity's instrumentors and
propagator through their entry points, and the httpx instrumentation; the app serves an agent with
``add_agent_framework_fastapi_endpoint`` on 127.0.0.1 and calls it with httpx, as a frontend would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

_APP = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import httpx
    from fastapi import FastAPI
    from agent_framework_ag_ui import add_agent_framework_fastapi_endpoint
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from ag_ui_support import AGUIServer, make_agent

    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI()
    add_agent_framework_fastapi_endpoint(app, make_agent(), "/agent", single_user=True)
    body = {"threadId": "zero-code-thread", "runId": "zero-code-run",
            "messages": [{"id": "m", "role": "user", "content": "weather in Paris?"}]}
    with AGUIServer(app, asgi_instrumentation=False) as server:
        response = httpx.post(f"{server.base_url}/agent", json=body, timeout=30)
    spans = [
        {"name": span.name, "kind": span.kind.name, "trace": f"{span.context.trace_id:032x}",
         "attributes": {key: value for key, value in (span.attributes or {}).items() if isinstance(value, str)}}
        for span in exporter.get_finished_spans()
    ]
    print(json.dumps({"status": response.status_code, "text": response.text, "spans": spans}))
    """
)


def test_zero_code_under_opentelemetry_instrument() -> None:
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(
        {
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_SERVICE_NAME": "ag-ui-zero-code",
            "OTEL_PROPAGATORS": "tracecontext,otel_identity",
            "ENABLE_INSTRUMENTATION": "true",  # agent-framework's own spans
        }
    )
    completed = subprocess.run(
        [str(instrument), sys.executable, "-c", _APP, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["status"] == 200 and "Forecast" in result["text"]

    spans = result["spans"]
    (caller,) = [span for span in spans if span["kind"] == "CLIENT" and span["name"].startswith("POST")]
    run = [span for span in spans if span["name"].split(" ")[0] in ("invoke_agent", "chat", "execute_tool")]
    assert {span["name"].split(" ")[0] for span in run} == {"invoke_agent", "chat", "execute_tool"}
    for span in run:
        assert span["trace"] == caller["trace"], span["name"]  # the route continued the caller's trace
        assert span["attributes"]["session.id"] == "zero-code-thread", span
        assert span["attributes"]["gen_ai.conversation.id"] == "zero-code-thread", span
