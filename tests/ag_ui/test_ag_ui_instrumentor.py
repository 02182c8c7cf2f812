"""The instrumentor's own contract: uninstrument, suppression, exceptions pass through, ours never raise."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

import pytest
from ag_ui_support import make_agent
from agent_framework_ag_ui import AgentFrameworkAgent, AgentFrameworkWorkflow, AGUIHttpService
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_identity_ag_ui import AGUIInstrumentor, _server
from otel_identity_ag_ui._private import REGISTRY

from otel_identity import attributes as attr
from otel_identity.instrumentation import PrivateName

INPUT = {
    "thread_id": "direct-thread",
    "run_id": "direct-run",
    "messages": [{"id": "m", "role": "user", "content": "hi"}],
}


async def _run(runner: AgentFrameworkAgent, input_data: Any) -> list[Any]:
    return [event async for event in runner.run(input_data)]


def _sessions(spans: InMemorySpanExporter) -> set[object]:
    return {(span.attributes or {}).get(attr.SESSION_ID) for span in spans.get_finished_spans()}


async def test_direct_run_has_the_thread(
    ag_ui: AGUIInstrumentor, framework_telemetry: None, spans: InMemorySpanExporter
) -> None:
    patched = [AgentFrameworkAgent.run, AgentFrameworkWorkflow.run, AGUIHttpService.post_run]
    patched += [getattr(import_module(private.module), private.qualname) for private in REGISTRY]
    assert len(patched) == 5 and all(hasattr(target, "_self_wrapper") for target in patched)
    events = await _run(AgentFrameworkAgent(make_agent()), INPUT)
    assert events[-1].type == "RUN_FINISHED"
    assert _sessions(spans) == {"direct-thread"}


async def test_uninstrument_removes_everything(
    tracer_provider: TracerProvider, framework_telemetry: None, spans: InMemorySpanExporter
) -> None:
    instrumentor = AGUIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    instrumentor.uninstrument()
    patched = [AgentFrameworkAgent.run, AgentFrameworkWorkflow.run, AGUIHttpService.post_run]
    patched += [getattr(import_module(private.module), private.qualname) for private in REGISTRY]
    assert len(patched) == 5 and not any(hasattr(target, "_self_wrapper") for target in patched)
    await _run(AgentFrameworkAgent(make_agent()), INPUT)
    assert "direct-thread" not in _sessions(spans)


async def test_suppressed_instrumentation_passes_through(
    ag_ui: AGUIInstrumentor, framework_telemetry: None, spans: InMemorySpanExporter
) -> None:
    with suppress_instrumentation():
        events = await _run(AgentFrameworkAgent(make_agent()), INPUT)
    assert events[-1].type == "RUN_FINISHED"
    assert "direct-thread" not in _sessions(spans)


@pytest.mark.parametrize("instrumented", [False, True], ids=["bare", "instrumented"])
async def test_framework_exceptions_pass_through_unchanged(tracer_provider: TracerProvider, instrumented: bool) -> None:
    instrumentor = AGUIInstrumentor()
    if instrumented:
        instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        with pytest.raises(AttributeError, match="get"):  # the framework's own error for a non-dict input
            await _run(AgentFrameworkAgent(make_agent()), None)
    finally:
        if instrumented:
            instrumentor.uninstrument()


async def test_a_bug_of_ours_is_swallowed(
    ag_ui: AGUIInstrumentor, framework_telemetry: None, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("bug in otel-identity")

    monkeypatch.setattr(_server, "set_conversation", broken)
    events = await _run(AgentFrameworkAgent(make_agent()), INPUT)
    assert events[-1].type == "RUN_FINISHED"  # served as if uninstrumented
    assert "direct-thread" not in _sessions(spans)


def test_registered_for_opentelemetry_instrument() -> None:
    (entry,) = [entry for entry in entry_points(group="opentelemetry_instrumentor") if entry.name == "ag_ui"]
    assert entry.load() is AGUIInstrumentor
    assert AGUIInstrumentor().instrumentation_dependencies() == ("agent-framework-ag-ui >= 1.7, < 2",)


@pytest.mark.parametrize("name", REGISTRY, ids=str)
def test_private_name_is_where_the_registry_says(name: PrivateName) -> None:
    """Each private name is usable with the installed agent-framework-ag-ui, gated by that distribution."""
    assert name.distribution == "agent-framework-ag-ui"
    assert name.problem() is None, f"{name}: {name.problem()}"
