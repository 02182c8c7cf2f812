"""The span processor stamps scope identities at span start, whatever started the span."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import otel_identity as oi
from otel_identity import attributes as attr


def test_attributes_set_at_creation_win_over_the_scope(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    """An A2A client span's conversation is the remote context_id, not the caller's."""
    with oi.session_scope("s-1"):
        with tracer.start_as_current_span("SendMessage", attributes={attr.GEN_AI_CONVERSATION_ID: "ctx-remote"}):
            pass
    (span,) = spans.get_finished_spans()
    assert span.attributes[attr.GEN_AI_CONVERSATION_ID] == "ctx-remote"
    assert span.attributes[attr.SESSION_ID] == "s-1"


def test_previous_response_is_on_chat_spans_of_the_run_only(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    with oi.session_scope("s-1"), oi.run_scope(previous_response_id="resp_7"):
        with tracer.start_as_current_span("chat model", attributes={attr.GEN_AI_OPERATION_NAME: "chat"}):
            pass
        with tracer.start_as_current_span(
            "execute_tool lookup", attributes={attr.GEN_AI_OPERATION_NAME: "execute_tool"}
        ):
            pass
        with (
            oi.run_scope(),
            tracer.start_as_current_span("next-run-chat", attributes={attr.GEN_AI_OPERATION_NAME: "chat"}),
        ):
            pass
    got = {span.name: span.attributes for span in spans.get_finished_spans()}
    assert got["chat model"][attr.GEN_AI_PREVIOUS_RESPONSE_ID] == "resp_7"
    assert attr.GEN_AI_PREVIOUS_RESPONSE_ID not in got["execute_tool lookup"]
    assert attr.GEN_AI_PREVIOUS_RESPONSE_ID not in got["next-run-chat"], "a handle belongs to one run"


def test_chat_spans_are_recognised_by_name_when_attributes_come_later(
    spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    """agent-framework starts its chat span bare and sets gen_ai.operation.name afterwards."""
    with oi.run_scope(previous_response_id="resp_3"):
        with tracer.start_as_current_span("chat gpt-x"):  # no attributes yet: only its name says chat
            pass
        with tracer.start_as_current_span("chatter"):
            pass
    got = {span.name: span.attributes for span in spans.get_finished_spans()}
    assert got["chat gpt-x"][attr.GEN_AI_PREVIOUS_RESPONSE_ID] == "resp_3"
    assert attr.GEN_AI_PREVIOUS_RESPONSE_ID not in got["chatter"]


def test_single_results_stay_on_their_own_span(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    with oi.session_scope("s-1"), tracer.start_as_current_span("run") as run:
        with tracer.start_as_current_span("chat", attributes={attr.GEN_AI_OPERATION_NAME: "chat"}) as chat:
            oi.record_result(chat, response_id="resp_1", message_id="msg-1", artifact_id="art-1")
        with tracer.start_as_current_span("after-result"):
            pass
        oi.record_request(run, reference_task_ids=["task-a", "task-b"])
        oi.record_continuation(run, issued=True, task_id="task-c")
    got = {span.name: span.attributes for span in spans.get_finished_spans()}
    assert got["chat"][attr.GEN_AI_RESPONSE_ID] == "resp_1"
    assert got["chat"][attr.A2A_MESSAGE_ID] == "msg-1" and got["chat"][attr.ARTIFACT_ID] == "art-1"
    for name in ("run", "after-result"):
        assert not {attr.GEN_AI_RESPONSE_ID, attr.A2A_MESSAGE_ID, attr.ARTIFACT_ID} & set(got[name])
    assert got["run"][attr.A2A_REFERENCE_TASK_IDS] == ("task-a", "task-b")
    assert got["run"][attr.CONTINUATION_ISSUED] is True and got["run"][attr.A2A_TASK_ID] == "task-c"
    assert attr.A2A_REFERENCE_TASK_IDS not in got["after-result"]


def test_bad_ids_inside_instrumentation_are_dropped_with_a_debug_log(
    spans: InMemorySpanExporter, tracer: trace.Tracer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="otel_identity"), tracer.start_as_current_span("x") as span:
        oi.record_result(span, response_id="", message_id=123, artifact_id="ok")
        oi.record_request(span, reference_task_ids=["", None, "t-1"])
    (finished,) = spans.get_finished_spans()
    assert attr.GEN_AI_RESPONSE_ID not in finished.attributes and attr.A2A_MESSAGE_ID not in finished.attributes
    assert finished.attributes[attr.ARTIFACT_ID] == "ok"
    assert finished.attributes[attr.A2A_REFERENCE_TASK_IDS] == ("t-1",)
    assert any("response_id must not be empty" in record.getMessage() for record in caplog.records)
    assert any("message_id must be a str" in record.getMessage() for record in caplog.records)


def test_non_recording_spans_are_left_alone() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    oi.add_identity_processor(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with oi.session_scope("s-1"), provider.get_tracer("t").start_as_current_span("dropped") as span:
        assert not span.is_recording()
        oi.record_result(span, response_id="resp_1")
    assert exporter.get_finished_spans() == ()


def test_add_identity_processor_is_idempotent() -> None:
    provider = TracerProvider()
    assert oi.add_identity_processor(provider) is True
    assert oi.add_identity_processor(provider) is False
    processors = provider._active_span_processor._span_processors
    assert sum(isinstance(p, oi.IdentitySpanProcessor) for p in processors) == 1


class _ExplodingAttributes(dict):  # type: ignore[type-arg]
    def get(self, *args: object) -> object:
        raise RuntimeError("boom inside telemetry")

    def __iter__(self) -> Any:
        raise RuntimeError("boom inside telemetry")

    def __contains__(self, key: object) -> bool:
        raise RuntimeError("boom inside telemetry")


def test_a_fault_inside_the_processor_is_swallowed_and_the_span_still_ends(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor added by hand (no stamping sampler): it reads the span's attributes itself."""
    from opentelemetry.sdk.trace import Span

    provider = TracerProvider()
    provider.add_span_processor(oi.IdentitySpanProcessor())
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("by-hand")
    monkeypatch.setattr(Span, "attributes", property(lambda self: _ExplodingAttributes(a=1)))
    with caplog.at_level(logging.DEBUG, logger="otel_identity"), oi.session_scope("s-1"):
        with tracer.start_as_current_span("survives"):
            result = "app result"
    monkeypatch.undo()
    assert result == "app result"
    assert [span.name for span in spans.get_finished_spans()] == ["survives"]
    assert any("IdentitySpanProcessor.on_start" in record.getMessage() for record in caplog.records)
