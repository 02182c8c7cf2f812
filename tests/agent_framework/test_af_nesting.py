"""Runs inside runs, and identities set upstream: the core's rules seen through real agent-framework runs."""

from __future__ import annotations

from typing import Any

import pytest
from af_support import attrs, descendants, named, run_turn
from agent_framework import Agent
from agent_framework.observability import _use_telemetry_conversation_id
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_identity import attributes as attr
from otel_identity import session_scope
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

pytestmark = pytest.mark.usefixtures("instrumentor")

FRAMEWORK = pytest.mark.parametrize("framework_telemetry", [True, False], indirect=True, ids=["af-on", "af-off"])
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["await", "stream"])


def _agents() -> tuple[Agent[Any], Agent[Any]]:
    researcher = Agent(ScriptedChatClient(mode="responses"), name="researcher", id="researcher-1")
    rules = [Rule("research", tool="researcher", arguments={"task": "find flights"}, answer="Found: {result}")]
    concierge = Agent(
        ScriptedChatClient(mode="responses", rules=rules),
        name="concierge",
        id="concierge-1",
        tools=[researcher.as_tool(name="researcher", description="Finds things")],
    )
    return concierge, researcher


@FRAMEWORK
@STREAM
async def test_agent_used_as_a_tool_keeps_the_callers_conversation(
    spans: InMemorySpanExporter, framework_telemetry: bool, stream: bool
) -> None:
    concierge, _ = _agents()
    session = concierge.create_session(session_id="user-session")
    for turn in ("please research Lisbon", "and research Porto"):
        await run_turn(concierge, turn, session, stream=stream)

    finished = spans.get_finished_spans()
    outer_runs = sorted(named(finished, "invoke_agent concierge"), key=lambda span: span.start_time or 0)
    assert len(outer_runs) == 2
    for outer in outer_runs:
        (inner,) = named(descendants(finished, outer), "invoke_agent researcher")
        for span in descendants(finished, outer):
            assert attrs(span)[attr.SESSION_ID] == "user-session", span.name
            assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == "user-session", span.name
        assert attrs(inner)[attr.PARENT_RUN_ID] == attrs(outer)[attr.RUN_ID]
        assert attrs(inner)[attr.RUN_ID] != attrs(outer)[attr.RUN_ID]
        own = attrs(inner)[attr.AGENT_SESSION_ID]
        assert own != "user-session", "the tool's fresh AgentSession, recorded on its run span only"
        assert all(attrs(span).get(attr.AGENT_SESSION_ID) != own for span in finished if span is not inner)
        inner_tree = descendants(finished, inner)
        assert all(attrs(span)[attr.RUN_ID] == attrs(inner)[attr.RUN_ID] for span in inner_tree)


@FRAMEWORK
@STREAM
async def test_a_session_scope_the_app_opened_wins_over_the_agent_session(
    spans: InMemorySpanExporter, framework_telemetry: bool, stream: bool
) -> None:
    concierge, _ = _agents()
    with session_scope("app-session"):
        await run_turn(concierge, "hello", concierge.create_session(session_id="agent-session"), stream=stream)
    (run,) = named(spans.get_finished_spans(), "invoke_agent concierge")
    for span in descendants(spans.get_finished_spans(), run):
        assert attrs(span)[attr.SESSION_ID] == "app-session", span.name
        assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == "app-session", span.name
    assert attrs(run)[attr.AGENT_SESSION_ID] == "agent-session"


@FRAMEWORK
@STREAM
async def test_a_conversation_set_upstream_in_the_framework_wins(
    spans: InMemorySpanExporter, framework_telemetry: bool, stream: bool
) -> None:
    """What protocol adapters (agent-framework-ag-ui) do: the app's conversation through the framework's override."""
    concierge, _ = _agents()
    session = concierge.create_session(session_id="storage-key")
    with _use_telemetry_conversation_id("thread-7"):
        await run_turn(concierge, "hello", session, stream=stream)
        await run_turn(concierge, "again", session, stream=stream)
    runs = named(spans.get_finished_spans(), "invoke_agent concierge")
    assert len(runs) == 2
    for run in runs:
        for span in descendants(spans.get_finished_spans(), run):
            assert attrs(span)[attr.GEN_AI_CONVERSATION_ID] == "thread-7", span.name
            assert attrs(span)[attr.SESSION_ID] == "storage-key", span.name


@FRAMEWORK
async def test_a_run_closed_unawaited_closes_the_frameworks_call_and_ends_our_span(
    spans: InMemorySpanExporter, framework_telemetry: bool
) -> None:
    """Closing ``agent.run(...)`` unawaited is what it is without us: nothing left running, nothing warned."""
    import gc
    import warnings

    concierge, _ = _agents()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call = concierge.run("hello", session=concierge.create_session(session_id="s-1"))
        call.close()
        del call
        gc.collect()
    assert not [str(w.message) for w in caught if "never awaited" in str(w.message)]
    assert await concierge.run("again", session=concierge.create_session(session_id="s-2"))


def test_the_framework_conversation_is_read_where_it_lives_after_a_reload(tmp_path: Any) -> None:
    """agent-framework's own suite reloads its observability module: an upstream conversation must still win."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import asyncio, importlib, json
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import otel_identity
        exporter = InMemorySpanExporter()
        provider = otel_identity.configure(service_name="t", exporter=exporter, propagator=False)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        import agent_framework.observability as observability
        importlib.reload(observability)
        observability.enable_instrumentation()
        from otel_identity_agent_framework import AgentFrameworkInstrumentor
        AgentFrameworkInstrumentor().instrument()
        from agent_framework import Agent
        from otel_identity_testing.scripted_chat import ScriptedChatClient
        agent = Agent(ScriptedChatClient(mode="conversation"), name="a")
        async def main():
            session = agent.create_session(session_id="storage-key")
            with observability._use_telemetry_conversation_id("application-thread"):
                await agent.run("hi", session=session)
        asyncio.run(main())
        names = {s.attributes.get("gen_ai.conversation.id") for s in exporter.get_finished_spans()}
        print(json.dumps(sorted(n for n in names if n)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"OTEL_TRACES_EXPORTER": "none", "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == '["application-thread"]'
