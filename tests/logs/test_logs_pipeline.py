"""The logs pipeline ``configure()`` and ``opentelemetry-instrument`` set up, each in a fresh interpreter.

Logger providers are process-wide and set once, so every case runs in its own subprocess, as
an app starts. OTLP goes to a real HTTP receiver on 127.0.0.1 and is decoded with the OTLP
protobuf definitions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

_PRELUDE = """
import json, logging, otel_identity as oi
from opentelemetry import trace
from opentelemetry._logs import get_logger_provider, set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor, LogRecordExporter

def processors(provider):
    return [type(p).__name__ for p in provider._multi_log_record_processor._log_record_processors]

def identity(record):
    found = dict(record.log_record.attributes or {})
    return {key: found.get(key) for key in ("session.id", "gen_ai.conversation.id", "otel_identity.run.id")}
"""


def run_python(code: str, *, env: dict[str, str] | None = None, args: list[str] | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line."""
    full_env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    full_env.update({"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", **(env or {})})
    completed = subprocess.run(
        [*(args or [sys.executable]), "-c", _PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["stderr"] = completed.stderr
    return result


class _Receiver(BaseHTTPRequestHandler):
    requests: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append((self.path, body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def otlp_receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _otlp_logs(server: ThreadingHTTPServer) -> list[dict[str, Any]]:
    records = []
    for path, body in server.received:  # type: ignore[attr-defined]
        assert path == "/v1/logs"
        request = ExportLogsServiceRequest.FromString(body)
        for resource_logs in request.resource_logs:
            service = {a.key: a.value.string_value for a in resource_logs.resource.attributes}["service.name"]
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    attributes = {a.key: a.value.string_value for a in record.attributes}
                    records.append({"service": service, "body": record.body.string_value, **attributes})
    return records


def test_otel_logs_exporter_otlp_sends_python_logging_with_identity(otlp_receiver: ThreadingHTTPServer) -> None:
    run_python(
        """
        oi.configure(service_name="logs-app")
        app = logging.getLogger("app")
        with oi.session_scope("s-otlp"), oi.run_scope():
            app.warning("inside the session")
        app.warning("outside")
        get_logger_provider().shutdown()
        print(json.dumps({}))
        """,
        env={
            "OTEL_LOGS_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_receiver.server_address[1]}",
        },
    )
    records = {record["body"]: record for record in _otlp_logs(otlp_receiver)}
    assert records["inside the session"]["service"] == "logs-app"
    assert records["inside the session"]["session.id"] == "s-otlp"
    assert records["inside the session"]["gen_ai.conversation.id"] == "s-otlp"
    assert records["inside the session"]["otel_identity.run.id"]
    assert "session.id" not in records["outside"]


def test_configure_logs_keyword_sets_up_the_pipeline_once() -> None:
    result = run_python(
        """
        exporter = InMemoryLogRecordExporter()
        oi.configure(service_name="kw", log_exporter=exporter)
        oi.configure(service_name="kw", logs=True)
        provider = get_logger_provider()
        handlers = [type(h).__name__ for h in logging.getLogger().handlers]
        with oi.session_scope("s-kw"):
            logging.getLogger("app").warning("hello", extra={"session.id": "mine"})
            logging.getLogger("app").warning("plain")
        provider.force_flush()
        records = {r.log_record.body: r for r in exporter.get_finished_logs()}
        print(json.dumps({"processors": processors(provider), "handlers": handlers,
                          "explicit": identity(records["hello"])["session.id"],
                          "scope": identity(records["plain"])["session.id"],
                          "service": provider.resource.attributes["service.name"]}))
        """
    )
    assert result["processors"] == ["IdentityLogRecordProcessor", "BatchLogRecordProcessor"]
    assert result["handlers"] == ["LoggingHandler"]
    assert result["explicit"] == "mine"  # a record's own attribute wins
    assert result["scope"] == "s-kw"
    assert result["service"] == "kw"


def test_configure_puts_the_processor_first_on_an_existing_logger_provider() -> None:
    """A synchronous exporter registered before us still sees the identities (ours runs first)."""
    result = run_python(
        """
        exporter = InMemoryLogRecordExporter()
        mine = LoggerProvider()
        mine.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        set_logger_provider(mine)
        oi.configure()
        oi.configure()
        with oi.session_scope("s-existing"), oi.run_scope():
            mine.get_logger("app").emit(body="an event", event_name="app.checkout")
        print(json.dumps({"processors": processors(mine),
                          "identity": identity(exporter.get_finished_logs()[0])}))
        """
    )
    assert result["processors"] == ["IdentityLogRecordProcessor", "SimpleLogRecordProcessor"]
    assert result["identity"]["session.id"] == "s-existing"
    assert result["identity"]["otel_identity.run.id"]


def test_logs_false_leaves_an_existing_logger_provider_alone() -> None:
    result = run_python(
        """
        mine = LoggerProvider()
        set_logger_provider(mine)
        oi.configure(logs=False)
        print(json.dumps({"processors": processors(mine)}))
        """
    )
    assert result["processors"] == []


def test_opentelemetry_instrument_adds_the_log_processor_with_no_code() -> None:
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    result = run_python(
        """
        provider = get_logger_provider()
        exporter = InMemoryLogRecordExporter()
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        with oi.session_scope("zero-code-logs"):
            logging.getLogger("app").warning("from app logging")
        found = {"processors": processors(provider), "identity": identity(exporter.get_finished_logs()[0])}
        provider.shutdown()  # the console exporter prints now, before our line
        print(json.dumps(found))
        """,
        env={
            "OTEL_LOGS_EXPORTER": "console",
            "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
            "OTEL_SERVICE_NAME": "zero-code-logs",
        },
        args=[str(instrument), sys.executable],
    )
    assert result["processors"][:2] == ["IdentityLogRecordProcessor", "BatchLogRecordProcessor"]
    assert result["identity"]["session.id"] == "zero-code-logs"


@pytest.mark.parametrize("processor", ["SimpleLogRecordProcessor", "BatchLogRecordProcessor"])
def test_a_failing_log_exporter_never_breaks_the_app(processor: str) -> None:
    result = run_python(
        f"""
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        class Broken(LogRecordExporter):
            calls = 0
            def export(self, batch):
                Broken.calls += 1
                raise ConnectionError("log backend down")
            def shutdown(self):
                raise ConnectionError("still down")
            def force_flush(self, timeout_millis=30000):
                raise ConnectionError("still down")

        provider = LoggerProvider()
        provider.add_log_record_processor({processor}(Broken()))
        set_logger_provider(provider)
        oi.configure(logs=True)
        done = []
        for index in range(50):
            with oi.session_scope(f"s-{{index}}"):
                logging.getLogger("app").error("order %d failed", index)
                done.append(index)
        provider.force_flush()
        print(json.dumps({{"done": len(done), "calls": Broken.calls}}))
        """
    )
    assert result["done"] == 50
    assert result["calls"] >= 1  # the exporter really ran, and failed
