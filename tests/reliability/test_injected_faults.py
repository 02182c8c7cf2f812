"""A bug of ours never changes what the app sees.

Each test makes one function of ours raise (a core helper the wrappers and the processor
call: the processor's attribute computation, the recording helpers, scope building, run
planning, task state, the destination check) and runs the real thing: spans under scopes,
agent-framework runs (plain and streamed, answered and failing), A2A round trips over
127.0.0.1. The app must get exactly the result, or exactly the exception, it gets without
us; every span must end; the fault must have been hit and logged by us.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import otel_identity_a2a._client
import otel_identity_a2a._server
import otel_identity_agent_framework._agents
import otel_identity_agent_framework._run
import pytest
from a2a.client import ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import SendMessageRequest, TaskState
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Tracer
from reliability_support import OVERLOADED, OpenSpans, expected_answer, make_agent

from otel_identity import Identities, TaskHandle, session_scope
from otel_identity import _recording as recording
from otel_identity import attributes as attr
from otel_identity_testing.a2a import EchoA2AServer, user_message


class InjectedError(RuntimeError):
    """Raised by the function a test breaks."""


@dataclass
class Fault:
    """Where to inject: ``target.name`` raises :class:`InjectedError`; ``hits`` counts the calls."""

    target: Any
    name: str
    hits: int = 0


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Any:
    def _inject(target: Any, name: str) -> Fault:
        fault = Fault(target, name)

        def broken(*args: Any, **kwargs: Any) -> Any:
            fault.hits += 1
            raise InjectedError(f"injected into {name}")

        monkeypatch.setattr(target, name, broken)  # raising=True: a renamed function fails loudly
        return fault

    return _inject


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG, logger="otel_identity")
    yield caplog


def _assert_ours_logged(logs: pytest.LogCaptureFixture) -> None:
    ours = [r for r in logs.records if r.name == "otel_identity" and r.exc_info and r.exc_info[0] is InjectedError]
    assert ours, "the injected fault was not logged by otel-identity"


# region spans under scopes


def test_processor_fault_leaves_the_apps_spans_and_results_alone(
    spans: InMemorySpanExporter, tracer: Tracer, inject: Any, logs: pytest.LogCaptureFixture, open_spans: OpenSpans
) -> None:
    fault = inject(Identities, "span_base")
    app_error = ValueError("the app's own error")

    with session_scope("session-42"):
        with tracer.start_as_current_span("handle request"):
            result = sum(range(10))
        with pytest.raises(ValueError) as raised:
            with tracer.start_as_current_span("failing step"):
                raise app_error

    assert result == 45
    assert raised.value is app_error
    assert fault.hits >= 1, "the processor never computed attributes: the fault was not reached"
    assert sorted(span.name for span in spans.get_finished_spans()) == ["failing step", "handle request"]
    assert open_spans.names() == []
    _assert_ours_logged(logs)


# endregion

# region agent-framework

AF_FAULTS = {
    "processor": (Identities, "span_base"),
    "recording": (recording, "_set_ids"),
    "scope": (otel_identity_agent_framework._run, "run_context"),
    "planning": (otel_identity_agent_framework._agents, "plan_agent_run"),
}


async def _run(agent: Any, text: str, *, stream: bool) -> str:
    session = agent.create_session(session_id="session-42")
    if not stream:
        return str((await agent.run(text, session=session)).text)
    response_stream = agent.run(text, session=session, stream=True)
    async for _ in response_stream:
        pass
    return str((await response_stream.get_final_response()).text)


@pytest.mark.parametrize("framework_telemetry", [True, False], indirect=True, ids=["af-on", "af-off"])
@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
@pytest.mark.parametrize("where", sorted(AF_FAULTS))
async def test_agent_run_unchanged_by_a_fault_of_ours(
    where: str,
    stream: bool,
    framework_telemetry: bool,
    af_instrumented: Any,
    spans: InMemorySpanExporter,
    open_spans: OpenSpans,
    inject: Any,
    logs: pytest.LogCaptureFixture,
) -> None:
    agent = make_agent()
    fault = inject(*AF_FAULTS[where])

    answers = [await _run(agent, text, stream=stream) for text in ("hello there", "what is the weather in Paris?")]
    with pytest.raises(RuntimeError) as raised:
        await _run(agent, "overloaded", stream=stream)

    assert answers == [expected_answer("hello there"), expected_answer("what is the weather in Paris?")]
    assert raised.value is OVERLOADED
    assert fault.hits > 0, f"{where}: the fault was never reached"
    assert open_spans.names() == []
    runs = [span for span in spans.get_finished_spans() if span.name.startswith("invoke_agent")]
    if framework_telemetry or where in ("processor", "recording"):
        assert len(runs) == 3  # otherwise our own run span may be what the fault prevented
    _assert_ours_logged(logs)


# endregion

# region A2A

A2A_FAULTS = {
    "processor": (Identities, "span_base"),
    "task-state": (TaskHandle, "set_state"),
    "client-destination": (otel_identity_a2a._client, "set_destination"),
    "server-conversation": (otel_identity_a2a._server, "set_conversation"),
}


@pytest.fixture(scope="module")
def echo_server() -> Iterator[EchoA2AServer]:
    with EchoA2AServer() as server:
        yield server


async def _round_trip(card: Any, text: str) -> Any:
    async with httpx.AsyncClient() as http:
        config = ClientConfig(streaming=False, httpx_client=http, supported_protocol_bindings=["JSONRPC"])
        client = ClientFactory(config).create(card)
        events = [event async for event in client.send_message(SendMessageRequest(message=user_message(text)))]
    (event,) = events
    return event.task


@pytest.mark.parametrize("where", sorted(A2A_FAULTS))
async def test_a2a_round_trip_unchanged_by_a_fault_of_ours(
    where: str,
    echo_server: EchoA2AServer,
    a2a_instrumented: Any,
    trust: Any,
    spans: InMemorySpanExporter,
    open_spans: OpenSpans,
    inject: Any,
    logs: pytest.LogCaptureFixture,
) -> None:
    trust([f"127.0.0.1:{echo_server.port}"])
    fault = inject(*A2A_FAULTS[where])

    with session_scope("session-42"):
        task = await _round_trip(echo_server.card, f"book {where}")

    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert [part.text for artifact in task.artifacts for part in artifact.parts] == [f"echo: book {where}"]
    assert fault.hits > 0, f"{where}: the fault was never reached"
    ours = [span for span in spans.get_finished_spans() if span.name == "SendMessage"]
    assert sorted(span.kind.name for span in ours) == [SpanKind.CLIENT.name, SpanKind.SERVER.name]
    assert "SendMessage" not in open_spans.names()
    _assert_ours_logged(logs)


async def test_a2a_client_error_unchanged_by_a_fault_of_ours(
    a2a_instrumented: Any, inject: Any, logs: pytest.LogCaptureFixture
) -> None:
    """A peer that is down: the app gets the same error with a fault of ours as without us."""
    with EchoA2AServer() as gone:
        card = gone.card  # the server stops: its port refuses connections from now on

    a2a_instrumented.uninstrument()
    try:
        with pytest.raises(Exception) as without_us:
            await _round_trip(card, "anyone there?")
    finally:
        a2a_instrumented.instrument()
    inject(TaskHandle, "set_state")
    inject(otel_identity_a2a._client, "set_destination")
    with session_scope("session-42"), pytest.raises(Exception) as with_us:
        await _round_trip(card, "anyone there?")

    assert type(with_us.value) is type(without_us.value)
    assert str(with_us.value) == str(without_us.value)
    _assert_ours_logged(logs)


# endregion

__all__ = ["attr"]
