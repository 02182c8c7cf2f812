"""a2a-sdk's own tracing on (its default) or off: every server span of a request is in the caller's trace.

a2a-sdk starts its JSON-RPC dispatcher and REST handler spans before any request handler
runs; the instrumentor attaches the caller's context around those HTTP endpoints, so they are
children in the caller's trace and carry the caller's session instead of starting an orphan
root trace per request. a2a-sdk reads ``OTEL_INSTRUMENTATION_A2A_SDK_ENABLED`` at import, so
each setting runs in a fresh interpreter (:mod:`sdk_tracing_probe`): JSON-RPC and REST
(streaming or not) and gRPC against a real server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

_PROBE = Path(__file__).with_name("sdk_tracing_probe.py")
_SDK_SCOPE = "a2a-python-sdk"
_OUR_SCOPE = "otel_identity_a2a"


def _probe(sdk_tracing: bool) -> dict[str, Any]:
    env = {**os.environ, "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED": "true" if sdk_tracing else "false"}
    done = subprocess.run(
        [sys.executable, str(_PROBE)], cwd=_PROBE.parent, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["sdk_tracing"] is sdk_tracing
    return result


@pytest.mark.parametrize("sdk_tracing", [True, False], ids=["sdk-tracing-on", "sdk-tracing-off"])
def test_every_server_span_joins_the_callers_trace_and_session(sdk_tracing: bool) -> None:
    result = _probe(sdk_tracing)
    cases = {case["trace"]: case for case in result["cases"]}
    spans: list[dict[str, Any]] = result["spans"]
    assert len(cases) == len(result["cases"]) == 5

    # No orphan trace: every span is in one of the callers' traces, and the callers are the only roots.
    assert {span["trace"] for span in spans} == set(cases)
    roots = [span for span in spans if span["parent"] is None]
    assert sorted(span["name"] for span in roots) == ["caller"] * len(cases)
    # Every span, a2a-sdk's included, carries the caller's session.
    assert [span for span in spans if span["session"] != cases[span["trace"]]["session"]] == []

    ids = {(span["trace"], span["id"]): span for span in spans}
    for trace_id, case in cases.items():
        in_trace = [span for span in spans if span["trace"] == trace_id]
        ours = [span for span in in_trace if span["scope"] == _OUR_SCOPE and span["kind"] == "SERVER"]
        assert len(ours) == 1, (case, [span["name"] for span in in_trace])
        parent = ids.get((trace_id, ours[0]["parent"]))
        assert parent is not None  # a span of this trace that was exported: no second, different parent
        sdk_server = [span for span in in_trace if span["scope"] == _SDK_SCOPE and span["kind"] == "SERVER"]
        dispatcher = [span for span in sdk_server if span["name"].startswith("a2a.server.routes.")]
        if not sdk_tracing:
            assert sdk_server == []
            assert parent["kind"] == "CLIENT"  # unchanged: our server span continues the client span
        elif case["binding"] == "GRPC":
            assert dispatcher == [] and sdk_server  # GrpcHandler is untraced; the handler's spans are ours' children
        else:
            assert dispatcher, case  # the JSON-RPC dispatcher / REST handler spans, now in the caller's trace


def test_http_entry_points_are_wrapped_and_unwrapped(instrumented: Any) -> None:
    from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
    from a2a.server.routes.rest_dispatcher import RestDispatcher
    from wrapt import FunctionWrapper

    entry_points = [vars(JsonRpcDispatcher)["handle_requests"], vars(RestDispatcher)["on_message_send"]]
    assert all(isinstance(method, FunctionWrapper) for method in entry_points)
    instrumented.uninstrument()
    try:
        entry_points = [vars(JsonRpcDispatcher)["handle_requests"], vars(RestDispatcher)["on_message_send"]]
        assert not any(isinstance(method, FunctionWrapper) for method in entry_points)
    finally:
        instrumented.instrument()  # the fixture uninstruments once more at teardown
