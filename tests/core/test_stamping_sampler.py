"""Stamping at span creation (``IdentityStampingSampler``) gives exactly what the processor alone gives.

``add_identity_processor`` (``configure()``, the zero-code instrumentor) wraps the provider's
sampler so identities enter the span with its creator's attributes; a processor added by hand
stamps in ``on_start``. Both wirings must produce the same attributes in every case the rule
distinguishes, keep the wrapped sampler's decisions, and survive a fault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased

import otel_identity as oi
from otel_identity import attributes as attr


def _wired(*, sampler: bool, inner: object = None) -> tuple[TracerProvider, InMemorySpanExporter]:
    provider = TracerProvider(sampler=inner) if inner is not None else TracerProvider()  # type: ignore[arg-type]
    if sampler:
        oi.add_identity_processor(provider)
    else:
        provider.add_span_processor(oi.IdentitySpanProcessor())
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _plain(tracer: trace.Tracer) -> None:
    with oi.session_scope("s-1", user_id="u-1"), oi.run_scope("run-1"):
        tracer.start_span("operation", attributes={"app.route": "/chat"}).end()


def _creator_wins(tracer: trace.Tracer) -> None:
    with oi.session_scope("s-1"):
        tracer.start_span("SendMessage", attributes={attr.GEN_AI_CONVERSATION_ID: "ctx-remote"}).end()


def _chat_by_name(tracer: trace.Tracer) -> None:
    with oi.session_scope("s-1"), oi.run_scope("run-1", previous_response_id="resp_7"):
        tracer.start_span("chat gpt-4o").end()
        tracer.start_span("invoke_agent helper").end()


def _chat_by_operation(tracer: trace.Tracer) -> None:
    with oi.session_scope("s-1"), oi.run_scope("run-1", previous_response_id="resp_7"):
        tracer.start_span("llm call", attributes={attr.GEN_AI_OPERATION_NAME: "chat"}).end()


def _task_state_moves(tracer: trace.Tracer) -> None:
    with oi.session_scope("s-1"), oi.task_scope("task-1", state="TASK_STATE_SUBMITTED") as task:
        tracer.start_span("first").end()
        task.set_state("TASK_STATE_WORKING")
        tracer.start_span("second").end()


def _no_scope(tracer: trace.Tracer) -> None:
    tracer.start_span("outside").end()


CASES: dict[str, Callable[[trace.Tracer], None]] = {
    "plain": _plain,
    "creator wins": _creator_wins,
    "chat by name": _chat_by_name,
    "chat by operation": _chat_by_operation,
    "task state moves": _task_state_moves,
    "no scope": _no_scope,
}


def _attributes(exporter: InMemorySpanExporter) -> list[tuple[str, dict[str, object]]]:
    return [(span.name, dict(span.attributes or {})) for span in exporter.get_finished_spans()]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_sampler_and_processor_stamp_the_same(case: str) -> None:
    (fast, fast_spans), (by_hand, by_hand_spans) = _wired(sampler=True), _wired(sampler=False)
    CASES[case](fast.get_tracer("t"))
    CASES[case](by_hand.get_tracer("t"))
    assert isinstance(fast.sampler, oi.IdentityStampingSampler)
    assert not isinstance(by_hand.sampler, oi.IdentityStampingSampler)
    found = _attributes(fast_spans)
    assert found == _attributes(by_hand_spans)
    if case != "no scope":
        assert all(attributes.get(attr.SESSION_ID) == "s-1" for _, attributes in found), found


def test_expected_values_of_the_distinguishing_cases() -> None:
    """The equality above would also hold if both wirings were wrong: pin what they must give."""
    provider, exporter = _wired(sampler=True)
    tracer = provider.get_tracer("t")
    _creator_wins(tracer)
    _chat_by_name(tracer)
    _task_state_moves(tracer)
    send, chat, agent, first, second = exporter.get_finished_spans()
    assert send.attributes is not None and send.attributes[attr.GEN_AI_CONVERSATION_ID] == "ctx-remote"
    assert chat.attributes is not None and chat.attributes[attr.GEN_AI_PREVIOUS_RESPONSE_ID] == "resp_7"
    assert agent.attributes is not None and attr.GEN_AI_PREVIOUS_RESPONSE_ID not in agent.attributes
    assert first.attributes is not None and first.attributes[attr.A2A_TASK_STATE] == "TASK_STATE_SUBMITTED"
    assert second.attributes is not None and second.attributes[attr.A2A_TASK_STATE] == "TASK_STATE_WORKING"
    # The change happened with no span open: kept, and recorded on the next span of the task.
    assert [event.name for event in second.events] == [attr.TASK_STATE_CHANGE_EVENT]
    assert [event.name for event in first.events] == []


def test_a_tracer_made_before_the_wrapping_is_still_stamped_by_the_processor() -> None:
    """Zero code: instrumentors run after the SDK set the provider up; older tracers keep the old sampler."""
    provider = TracerProvider()
    early = provider.get_tracer("early")
    oi.add_identity_processor(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    late = provider.get_tracer("late")
    with oi.session_scope("s-1"):
        late.start_span("late").end()
        with oi.session_scope("s-2"):
            early.start_span("early").end()  # right after a sampler-stamped span, in another scope
    by_name = {span.name: dict(span.attributes or {}) for span in exporter.get_finished_spans()}
    assert by_name["late"][attr.SESSION_ID] == "s-1"
    assert by_name["early"][attr.SESSION_ID] == "s-2"


def test_the_wrapped_samplers_decisions_are_kept() -> None:
    provider, exporter = _wired(sampler=True, inner=ALWAYS_OFF)
    with oi.session_scope("s-1"):
        span = provider.get_tracer("t").start_span("dropped")
        span.end()
    assert not span.is_recording()
    assert exporter.get_finished_spans() == ()
    assert isinstance(provider.sampler, oi.IdentityStampingSampler)
    assert provider.sampler.inner is ALWAYS_OFF
    assert provider.sampler.get_description() == "IdentityStamping{AlwaysOffSampler}"


def test_wrapping_happens_once() -> None:
    inner = ParentBased(ALWAYS_ON)
    provider = TracerProvider(sampler=inner)
    oi.add_identity_processor(provider)
    oi.add_identity_processor(provider)
    assert isinstance(provider.sampler, oi.IdentityStampingSampler)
    assert provider.sampler.inner is inner


@pytest.fixture
def exploding_identities(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def boom(*args: object) -> object:
        raise RuntimeError("boom inside telemetry")

    monkeypatch.setattr(oi.Identities, "span_base", boom)
    yield


def test_a_fault_while_stamping_is_swallowed_and_the_span_still_ends(
    exploding_identities: None, caplog: pytest.LogCaptureFixture
) -> None:
    provider, exporter = _wired(sampler=True)
    with ExitStack() as stack:
        scopes: list[AbstractContextManager[object]] = [
            caplog.at_level(logging.DEBUG, logger="otel_identity"),
            oi.session_scope("s-1"),
        ]
        for scope in scopes:
            stack.enter_context(scope)
        with provider.get_tracer("t").start_as_current_span("survives"):
            result = "app result"
    assert result == "app result"
    assert [span.name for span in exporter.get_finished_spans()] == ["survives"]
    messages = [record.getMessage() for record in caplog.records]
    assert any("IdentityStampingSampler.should_sample" in message for message in messages), messages
