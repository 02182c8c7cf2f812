"""Scopes put durable identities on every span started inside them, and nest by documented rules."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_identity as oi
from otel_identity import attributes as attr


def by_name(spans: InMemorySpanExporter) -> dict[str, dict[str, object]]:
    return {span.name: dict(span.attributes or {}) for span in spans.get_finished_spans()}


def test_every_span_in_a_session_scope_carries_the_session(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    with oi.session_scope("s-1", user_id="u-1"):
        with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
            with tracer.start_as_current_span("grandchild"):
                pass
    with tracer.start_as_current_span("outside"):
        pass
    got = by_name(spans)
    for name in ("root", "child", "grandchild"):
        assert got[name][attr.SESSION_ID] == "s-1"
        assert got[name][attr.USER_ID] == "u-1"
        assert got[name][attr.GEN_AI_CONVERSATION_ID] == "s-1", "conversation defaults to the session id"
    assert attr.SESSION_ID not in got["outside"]
    assert attr.GEN_AI_CONVERSATION_ID not in got["outside"]


def test_conversation_id_given_wins_over_session_id(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    with oi.session_scope("s-1", conversation_id="conv_abc"), tracer.start_as_current_span("x"):
        pass
    assert by_name(spans)["x"][attr.GEN_AI_CONVERSATION_ID] == "conv_abc"


def test_nested_scopes_override_their_own_fields_and_inherit_the_rest(
    spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    with oi.session_scope("outer", user_id="u-1", conversation_id="conv_outer"):
        with oi.run_scope("run-1"), oi.task_scope("task-1", state="TASK_STATE_WORKING"):
            with oi.session_scope("outer"), tracer.start_as_current_span("same-session"):
                pass
            with oi.run_scope("run-2"), tracer.start_as_current_span("inner-run"):
                pass
            with oi.session_scope("other"), tracer.start_as_current_span("other-session"):
                pass
            with oi.task_scope("task-2"), tracer.start_as_current_span("inner-task"):
                pass
    got = by_name(spans)
    same = got["same-session"]
    assert same[attr.GEN_AI_CONVERSATION_ID] == "conv_outer", "same session keeps its conversation"
    assert same[attr.A2A_TASK_ID] == "task-1" and same[attr.RUN_ID] == "run-1"
    assert got["inner-run"][attr.RUN_ID] == "run-2"
    assert got["inner-run"][attr.SESSION_ID] == "outer"
    other = got["other-session"]
    assert other[attr.SESSION_ID] == "other"
    assert other[attr.GEN_AI_CONVERSATION_ID] == "other", "a new session does not inherit the old conversation"
    assert other[attr.USER_ID] == "u-1", "the user is inherited"
    assert attr.A2A_TASK_ID not in other, "a task belongs to the conversation it was opened in"
    assert other[attr.RUN_ID] == "run-1", "the run goes on until a new run scope"
    assert got["inner-task"][attr.A2A_TASK_ID] == "task-2"
    assert attr.A2A_TASK_STATE not in got["inner-task"]


def test_session_id_equal_to_the_conversation_in_scope_keeps_the_enclosing_session(
    spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    """An A2A server hosts the caller's context_id as its local session: the caller's session.id stays."""
    with oi.session_scope("caller-session"), oi.conversation_scope("ctx-9"):
        with oi.session_scope("ctx-9"), tracer.start_as_current_span("hosted-run"):
            pass
    got = by_name(spans)["hosted-run"]
    assert got[attr.SESSION_ID] == "caller-session"
    assert got[attr.GEN_AI_CONVERSATION_ID] == "ctx-9"


def test_conversation_scope_without_a_session_makes_it_the_session(
    spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    with oi.conversation_scope("ctx-1"), tracer.start_as_current_span("x"):
        pass
    got = by_name(spans)["x"]
    assert got[attr.SESSION_ID] == "ctx-1" and got[attr.GEN_AI_CONVERSATION_ID] == "ctx-1"


def test_run_scope_generates_a_new_run_id_each_entry(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    scope = oi.run_scope()
    ids = []
    for _ in range(2):
        with scope as run, tracer.start_as_current_span("run"):
            ids.append(run.run_id)
    assert ids[0] != ids[1]
    assert [span.attributes[attr.RUN_ID] for span in spans.get_finished_spans()] == ids


def test_task_state_changes_are_events_and_reach_later_spans(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    with oi.task_scope("t-1", state="TASK_STATE_SUBMITTED") as task:
        with tracer.start_as_current_span("task-span") as span:
            task.set_state("TASK_STATE_WORKING")
            task.set_state("TASK_STATE_WORKING")  # no change, no event
            task.set_state("TASK_STATE_INPUT_REQUIRED", span=span)
        with tracer.start_as_current_span("later"):
            pass
    got = {s.name: s for s in spans.get_finished_spans()}
    events = got["task-span"].events
    assert [event.name for event in events] == [attr.TASK_STATE_CHANGE_EVENT] * 2
    assert [event.attributes[attr.A2A_TASK_STATE] for event in events] == [
        "TASK_STATE_WORKING",
        "TASK_STATE_INPUT_REQUIRED",
    ]
    assert events[0].attributes["otel_identity.a2a.task.previous_state"] == "TASK_STATE_SUBMITTED"
    assert got["task-span"].attributes[attr.A2A_TASK_STATE] == "TASK_STATE_INPUT_REQUIRED"
    assert got["later"].attributes[attr.A2A_TASK_STATE] == "TASK_STATE_INPUT_REQUIRED"


def test_scopes_work_as_async_context_managers(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    async def main() -> None:
        async with oi.session_scope("s-async"), oi.run_scope("r-async"):
            await asyncio.sleep(0)
            with tracer.start_as_current_span("async-span"):
                pass

    asyncio.run(main())
    got = by_name(spans)["async-span"]
    assert got[attr.SESSION_ID] == "s-async" and got[attr.RUN_ID] == "r-async"
    assert oi.get_identities() is None


def test_decorators_for_functions_coroutines_and_generators(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    @oi.session_scope("s-dec")
    def plain() -> str | None:
        with tracer.start_as_current_span("plain"):
            return (oi.get_identities() or oi.Identities()).session_id

    @oi.run_scope()
    async def coroutine() -> str | None:
        with tracer.start_as_current_span("coroutine"):
            return (oi.get_identities() or oi.Identities()).run_id

    @oi.session_scope("s-gen")
    def generator():  # type: ignore[no-untyped-def]
        for index in range(2):
            with tracer.start_as_current_span(f"gen-{index}"):
                yield (oi.get_identities() or oi.Identities()).session_id

    @oi.session_scope("s-agen")
    async def agenerator():  # type: ignore[no-untyped-def]
        for index in range(2):
            with tracer.start_as_current_span(f"agen-{index}"):
                yield (oi.get_identities() or oi.Identities()).session_id

    assert plain() == "s-dec"
    first, second = asyncio.run(coroutine()), asyncio.run(coroutine())
    assert first and second and first != second, "each decorated call is a new run"
    for item in generator():
        assert item == "s-gen"
        assert oi.get_identities() is None, "the consumer never sees the generator's scope"

    async def consume() -> list[str | None]:
        seen = []
        async for item in agenerator():
            seen.append(item)
            assert oi.get_identities() is None
        return seen

    assert asyncio.run(consume()) == ["s-agen", "s-agen"]
    got = by_name(spans)
    assert got["gen-1"][attr.SESSION_ID] == "s-gen" and got["agen-1"][attr.SESSION_ID] == "s-agen"


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: oi.session_scope(""), "session_id must not be empty"),
        (lambda: oi.session_scope("   "), "session_id must not be empty"),
        (lambda: oi.session_scope(42), "session_id must be a str, got int"),  # type: ignore[arg-type]
        (lambda: oi.session_scope("x" * (oi.MAX_ID_LENGTH + 1)), "the limit is 256"),
        (lambda: oi.session_scope("a\nb"), "control characters"),
        (lambda: oi.session_scope("s", user_id=""), "user_id must not be empty"),
        (lambda: oi.run_scope(None, previous_response_id=b"resp"), "previous_response_id must be a str"),  # type: ignore[arg-type]
        (lambda: oi.task_scope(""), "task_id must not be empty"),
        (lambda: oi.task_scope("t", state=3), "state must be a str"),  # type: ignore[arg-type]
        (lambda: oi.conversation_scope(None), "conversation_id must be a str"),  # type: ignore[arg-type]
        (lambda: oi.set_task("t-1"), "task must be a TaskHandle"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_gets_a_clear_value_error(factory: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        factory()  # type: ignore[operator]


def test_an_id_of_exactly_the_limit_is_accepted() -> None:
    with oi.session_scope("x" * oi.MAX_ID_LENGTH) as identities:
        assert identities.session_id == "x" * oi.MAX_ID_LENGTH


def test_destination_scope_names_where_injections_go_and_checks_the_url() -> None:
    from otel_identity._trust import destination_of

    with oi.destination_scope("http://127.0.0.1:8123/mcp"):
        destination = destination_of()
        assert destination is not None and (destination.host, destination.port) == ("127.0.0.1", 8123)
    assert destination_of() is None
    with pytest.raises(ValueError, match="absolute URL"):
        oi.destination_scope("not a url")


def test_a_state_change_with_no_span_recording_goes_on_the_next_span_of_the_task(
    spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    with oi.task_scope("task-1", state="TASK_STATE_SUBMITTED") as task:
        task.set_state("TASK_STATE_WORKING")  # no span open: kept
        with tracer.start_as_current_span("next"):
            pass
        with tracer.start_as_current_span("after"):
            pass
    got = {span.name: span for span in spans.get_finished_spans()}
    (event,) = got["next"].events
    assert event.name == attr.TASK_STATE_CHANGE_EVENT
    assert dict(event.attributes or {}) == {
        attr.A2A_TASK_ID: "task-1",
        attr.A2A_TASK_STATE: "TASK_STATE_WORKING",
        attr.TASK_PREVIOUS_STATE: "TASK_STATE_SUBMITTED",
    }
    assert event.timestamp < (got["next"].start_time or 0), "recorded at the time of the change"
    assert not got["after"].events, "recorded once"


def test_a_span_started_before_the_task_scope_is_not_half_stamped(
    spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    with tracer.start_as_current_span("outer"):
        with oi.task_scope("task-1") as task:
            task.set_state("TASK_STATE_COMPLETED")
    (span,) = spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes[attr.A2A_TASK_STATE] == "TASK_STATE_COMPLETED"
    assert span.attributes[attr.A2A_TASK_ID] == "task-1"
