"""``otel-identity demo`` says what became of its spans, and a failed start never costs the user a file.

* An OTLP backend that answers: the last line says "spans sent to" with each service's count,
  and those counts are exactly the spans the backend received.
* A backend that accepts connections and never answers (a hung collector): exit code 1, and
  the last line says per service how many spans were exported and how many failed or timed out.
* A start that fails (a port in use, a port this user may not bind, a bad ``--port-base``)
  leaves the previous output file byte for byte as it was, and no partial file beside it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from demo_files import demo_environment, run_demo
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SERVICES = ("concierge", "flights", "hotels")


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.spans: dict[str, int] = {}


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        with self.server.lock:
            for resource_spans in request.resource_spans:
                service = next(
                    item.value.string_value for item in resource_spans.resource.attributes if item.key == "service.name"
                )
                count = sum(len(scope.spans) for scope in resource_spans.scope_spans)
                self.server.spans[service] = self.server.spans.get(service, 0) + count
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def otlp_receiver() -> Iterator[_Receiver]:
    """A real OTLP/HTTP endpoint on 127.0.0.1 that decodes each request and counts spans per service."""
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, name="otlp-receiver", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_spans_sent_says_how_many_each_service_delivered(tmp_path: Path) -> None:
    with otlp_receiver() as receiver:
        endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
        done = demo("--run-tag", "sent", env=_otlp_env(endpoint), cwd=tmp_path)
        received = dict(receiver.spans)

    assert done.returncode == 0, done.stderr
    line = last_line(done.stdout)
    counts = ", ".join(f"{service} {received[service]}" for service in SERVICES)
    assert line.startswith(f"spans sent to {endpoint}: {counts}; sessions: "), line
    assert all(received[service] > 0 for service in SERVICES)


def test_a_collector_that_never_answers_is_reported_not_sent(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)  # the kernel completes connections; nobody ever reads or answers
        endpoint = f"http://127.0.0.1:{hung.getsockname()[1]}"
        done = demo("--run-tag", "hung", env=_otlp_env(endpoint, OTEL_EXPORTER_OTLP_TIMEOUT="1"), cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    assert "spans sent" not in done.stdout + done.stderr
    line = last_line(done.stderr)
    assert line.startswith(f"otel-identity demo: not every span reached {endpoint}: concierge 0 of "), line
    for service in SERVICES:
        assert f"{service} 0 of " in line
    assert line.count("failed or timed out") == len(SERVICES)


def demo(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, prefix: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """``python -m otel_identity_demo demo ARGS`` (the ``python -m`` entry point, as a user may run it)."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "otel_identity_demo", "demo", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env=env if env is not None else demo_environment(),
        check=False,
    )


def _otlp_env(endpoint: str, **extra: str) -> dict[str, str]:
    return demo_environment(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_METRICS_EXPORTER="none", **extra)


@contextmanager
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def _keep(path: Path) -> bytes:
    content = b"".join(b'{"resourceSpans":[]}\n' for _ in range(5000))  # ~100 KB of a previous run
    path.write_bytes(content)
    return content


@pytest.mark.parametrize("how", ["port-in-use", "port-base-0"])
def test_a_failed_start_leaves_the_previous_file_intact(tmp_path: Path, how: str) -> None:
    keep = tmp_path / "keep.jsonl"
    before = _keep(keep)
    with busy_port() as port:
        args = ["--port-base", str(port) if how == "port-in-use" else "0"]
        done = run_demo(keep, "keep", *args)

    assert done.returncode == 2
    assert done.stderr.startswith("otel-identity demo: "), done.stderr
    assert keep.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["keep.jsonl"]


def test_a_failed_start_leaves_the_default_file_intact(tmp_path: Path) -> None:
    default = tmp_path / "otel-identity-demo.jsonl"  # no --output: the default file in the working directory
    before = _keep(default)
    with busy_port() as port:
        done = demo("--port-base", str(port), cwd=tmp_path)

    assert done.returncode == 2
    assert done.stderr.startswith(f"otel-identity demo: port {port} on 127.0.0.1 is in use"), done.stderr
    assert default.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["otel-identity-demo.jsonl"]


def test_a_port_this_user_may_not_bind_is_not_called_in_use(tmp_path: Path) -> None:
    keep = tmp_path / "keep.jsonl"
    before = _keep(keep)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root may bind any port: drop just that capability, as an ordinary user lacks it
        setpriv = shutil.which("setpriv")
        assert setpriv is not None, "setpriv (util-linux) runs the demo without CAP_NET_BIND_SERVICE"
        prefix = [setpriv, "--bounding-set", "-net_bind_service"]
    done = demo("--port-base", "80", "--output", str(keep), prefix=prefix)

    assert done.returncode == 2
    assert done.stderr.strip() == (
        "otel-identity demo: port 80 on 127.0.0.1 needs privileges this user does not have (ports below 1024 "
        "are reserved): choose a --port-base of 1024 or above, or leave --port-base out to use free ports"
    )
    assert keep.read_bytes() == before
