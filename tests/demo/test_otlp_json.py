"""The OTLP/JSON file exporter: OTLP JSON encoding, one request per line, safe appends from threads and processes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from google.protobuf.json_format import ParseDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from otel_identity_demo.otlp_json import OtlpJsonFileExporter, encode_line


def _spans(count: int = 2, *, name: str = "op") -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent:
        parent.set_attribute("session.id", "s-1")
        for index in range(count - 1):
            with tracer.start_as_current_span(
                f"{name}-{index}", kind=SpanKind.CLIENT, links=[Link(parent.get_span_context())]
            ) as child:
                child.set_attributes({"n": index, "ok": True, "ids": ["a", "b"], "ratio": 0.5})
                child.add_event("otel_identity.a2a.task.state_change", {"a2a.task.state": "TASK_STATE_WORKING"})
                child.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def _as_protobuf_json(line: dict[str, object]) -> dict[str, object]:
    """Undo the two OTLP deviations from the protobuf JSON mapping (hex ids back to base64)."""
    copied = json.loads(json.dumps(line))
    for resource_spans in copied["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for holder in [span, *span.get("links", [])]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if holder.get(key):
                            holder[key] = base64.b64encode(bytes.fromhex(holder[key])).decode()
    return copied


def test_a_line_is_the_otlp_json_encoding_of_the_export_request() -> None:
    spans = _spans(3)
    raw = encode_line(spans)

    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    line = json.loads(raw)
    decoded = line["resourceSpans"][0]["scopeSpans"][0]["spans"]
    by_name = {span["name"]: span for span in decoded}
    parent, child = by_name["parent"], by_name["op-0"]
    # OTLP/JSON: hex ids, integer enums, lowerCamelCase keys.
    assert parent["traceId"] == format(spans[-1].context.trace_id, "032x")
    assert child["parentSpanId"] == parent["spanId"] == format(spans[-1].context.span_id, "016x")
    assert child["links"][0]["spanId"] == parent["spanId"]
    assert parent["kind"] == SpanKind.SERVER.value + 1 and child["kind"] == 3
    assert child["status"] == {"code": 2, "message": "boom"}
    assert child["events"][0]["name"] == "otel_identity.a2a.task.state_change"
    assert {"key": "session.id", "value": {"stringValue": "s-1"}} in parent["attributes"]
    # Nothing lost: the line is exactly the protobuf request once the ids are base64 again.
    expected = encode_spans(spans)
    assert ParseDict(_as_protobuf_json(line), ExportTraceServiceRequest()) == expected


def test_each_export_appends_one_line(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    path.write_text('{"resourceSpans": []}\n')
    exporter = OtlpJsonFileExporter(path)

    assert exporter.export(_spans(2)) is SpanExportResult.SUCCESS
    assert exporter.export(_spans(4)) is SpanExportResult.SUCCESS
    assert exporter.export([]) is SpanExportResult.SUCCESS
    exporter.shutdown()

    lines = path.read_text().splitlines()
    assert len(lines) == 3, "kept what was there, then one line per non-empty export"
    counts = [
        sum(len(s["spans"]) for r in json.loads(line)["resourceSpans"] for s in r["scopeSpans"]) for line in lines
    ]
    assert counts == [0, 2, 4]
    assert exporter.export(_spans(2)) is SpanExportResult.FAILURE, "after shutdown nothing is written"


def test_an_unwritable_path_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        OtlpJsonFileExporter(tmp_path / "missing-dir" / "spans.jsonl")
    with pytest.raises(OSError):
        OtlpJsonFileExporter(tmp_path)


def test_threads_sharing_one_exporter_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    exporter = OtlpJsonFileExporter(path)
    batch = _spans(30, name="x" * 200)  # large lines make torn writes visible
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(25):
            assert exporter.export(batch) is SpanExportResult.SUCCESS

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    exporter.shutdown()

    lines = path.read_bytes().splitlines()
    assert len(lines) == 200
    assert all(len(json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]) == 30 for line in lines)


_WRITER = """
import sys
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from otel_identity_demo.otlp_json import OtlpJsonFileExporter

provider = TracerProvider(resource=Resource.create({"service.name": sys.argv[2]}))
provider.add_span_processor(SimpleSpanProcessor(OtlpJsonFileExporter(sys.argv[1])))
tracer = provider.get_tracer("writer")
sys.stdin.readline()  # start together
for index in range(300):
    with tracer.start_as_current_span("w" * 500) as span:
        span.set_attribute("index", index)
provider.shutdown()
"""


def test_several_processes_append_to_one_file(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), f"service-{number}"], stdin=subprocess.PIPE, text=True
        )
        for number in range(3)
    ]
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.close()
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0, 0]

    seen: dict[str, list[int]] = {}
    for line in path.read_bytes().splitlines():
        resource_spans = json.loads(line)["resourceSpans"][0]
        resource = {item["key"]: item["value"] for item in resource_spans["resource"]["attributes"]}
        service = resource["service.name"]["stringValue"]
        for span in resource_spans["scopeSpans"][0]["spans"]:
            seen.setdefault(service, []).append(int(span["attributes"][0]["value"]["intValue"]))
    assert {service: sorted(indexes) for service, indexes in seen.items()} == {
        f"service-{number}": list(range(300)) for number in range(3)
    }
