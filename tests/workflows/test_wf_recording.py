"""The core's workflow recording helpers: validated ids, the rows' attribute names, never an exception."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_identity import attributes as attr
from otel_identity import record_checkpoint, record_pending_requests
from otel_identity._workflow_recording import MAX_PENDING_REQUEST_IDS


def test_pending_request_ids_are_validated_deduplicated_and_capped(
    spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    with tracer.start_as_current_span("run") as span:
        record_pending_requests(span, issued=["req-1", "", None, 42, "x" * 300, "req-1", "req-2"])  # type: ignore[list-item]
        record_pending_requests(span, answered="req-0")  # one id where a collection was expected
        record_pending_requests(span, issued=[])  # nothing: the attribute stays
        record_pending_requests(span, answered=[f"r{i}" for i in range(MAX_PENDING_REQUEST_IDS + 5)])

    (run,) = spans.get_finished_spans()
    assert run.attributes is not None
    assert run.attributes[attr.PENDING_REQUESTS_ISSUED] == ("req-1", "req-2")
    answered = run.attributes[attr.PENDING_REQUESTS_ANSWERED]
    assert isinstance(answered, tuple) and len(answered) == MAX_PENDING_REQUEST_IDS and answered[0] == "r0"


def test_checkpoint_marker_and_id(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    with tracer.start_as_current_span("resumed") as resumed, tracer.start_as_current_span("bad") as bad:
        record_checkpoint(resumed, checkpoint_id="cp-1", resumed=True)
        record_checkpoint(bad, checkpoint_id={"messages": []}, resumed=False)  # content, not an id: dropped

    by_name = {span.name: dict(span.attributes or {}) for span in spans.get_finished_spans()}
    assert by_name["resumed"] == {attr.CHECKPOINT_ID: "cp-1", attr.CHECKPOINT_RESUMED: True}
    assert by_name["bad"] == {}


def test_helpers_never_raise_and_skip_spans_that_do_not_record() -> None:
    span = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
    record_pending_requests(span, issued=["req-1"], answered=["req-2"])
    record_checkpoint(span, checkpoint_id="cp-1", resumed=True)

    class Broken(trace.NonRecordingSpan):
        def is_recording(self) -> bool:
            raise RuntimeError("broken span")

    record_pending_requests(Broken(trace.INVALID_SPAN_CONTEXT), issued=["req-1"])
    record_checkpoint(Broken(trace.INVALID_SPAN_CONTEXT), checkpoint_id="cp-1")
