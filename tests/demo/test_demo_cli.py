"""``otel-identity demo`` when things go wrong: one-line errors a user can act on, and Ctrl-C that loses nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from demo_files import CLIENT, SERVER, demo_environment, load, run_demo

from otel_identity_demo.script import CONVERSATIONS


@contextmanager
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_port_in_use_is_one_line_that_says_what_to_do(tmp_path: Path) -> None:
    with busy_port() as port:
        as_flights = run_demo(tmp_path / "a.jsonl", "t", "--port-base", str(port))
        as_hotels = run_demo(tmp_path / "b.jsonl", "t", "--port-base", str(port - 1))

    for done in (as_flights, as_hotels):
        assert done.returncode == 2
        message = one_line_error(done.stderr)
        assert message.startswith(f"otel-identity demo: port {port} on 127.0.0.1 is in use")
        assert "--port-base" in message


def test_a_service_that_cannot_listen_tells_the_runner(tmp_path: Path) -> None:
    with busy_port() as port:
        done = subprocess.run(
            [sys.executable, "-m", "otel_identity_demo.flights", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=demo_environment(),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    assert done.returncode == 2
    assert done.stdout.startswith(f"ERROR port {port} on 127.0.0.1 is in use: stop what uses it")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("where", ["directory", "missing-dir"])
def test_an_unwritable_output_is_one_line(tmp_path: Path, where: str) -> None:
    target = tmp_path if where == "directory" else tmp_path / "missing" / "spans.jsonl"
    done = run_demo(tmp_path / "unused.jsonl", "t", "--output", str(target))
    assert done.returncode == 2
    message = one_line_error(done.stderr)
    assert message.startswith(f"otel-identity demo: cannot write {target}: ")
    assert message.endswith("choose a writable file with --output")


def test_a_missing_extra_is_one_line() -> None:
    # As if agent-framework were not installed: a module set to None in sys.modules cannot be imported or found.
    script = (
        "import sys; sys.modules['agent_framework'] = None; "
        "from otel_identity_demo.cli import main; sys.exit(main(['demo']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=demo_environment(), check=False
    )
    assert done.returncode == 2
    assert one_line_error(done.stderr) == (
        "otel-identity demo: the demo needs the 'demo' extra (agent_framework missing): "
        "pip install 'otel-identity[demo]'"
    )


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in command and int(entry) != os.getpid():
                found.append(int(entry))
    return found


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_every_service_and_keeps_what_was_recorded(tmp_path: Path, stop: signal.Signals) -> None:
    output = tmp_path / "interrupted.jsonl"
    demo = subprocess.Popen(
        # --pace holds every session before its second turn, so the interrupt lands mid-demo.
        [
            sys.executable,
            "-m",
            "otel_identity_demo.cli",
            "demo",
            "--output",
            str(output),
            "--pace",
            "120",
            "--run-tag",
            "ctrlc",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=demo_environment(),
        # As in a terminal. A shell starts background jobs with SIGINT ignored, a child inherits that, and
        # Python then leaves SIGINT ignored: run from such a job, the Ctrl-C below would never arrive.
        preexec_fn=_default_sigint,
    )
    assert demo.stderr is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = demo.stderr.readline()
        seen.append(line)
        if line.lstrip().startswith(f"[{len(CONVERSATIONS):>2}/"):  # every session has finished its first turn
            break
        assert line, "".join(seen)
    # The runner names the output; the services write to a new file beside it until they are all up.
    assert len(_processes_mentioning(str(tmp_path))) == 4, "the runner and its three services"

    demo.send_signal(stop)
    stdout, rest = demo.communicate(timeout=60)

    assert demo.returncode == 130, rest
    assert "interrupted; every service was stopped" in rest and "Traceback" not in rest
    assert _processes_mentioning(str(tmp_path)) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["interrupted.jsonl"], "no partial file left"
    spans = load(output)
    assert {span.service for span in spans} == {"concierge", "flights", "hotels"}
    # Each service flushed on the way out: every A2A call the concierge made has its server side.
    calls = [span for span in spans if span.kind == CLIENT and span.name in ("SendMessage", "SendStreamingMessage")]
    served = {(span.trace, span.parent) for span in spans if span.kind == SERVER}
    # The first turns of the sessions that delegate over A2A (grand-tour's pipeline stays in the concierge).
    assert len(calls) == 4
    assert all((call.trace, call.id) in served for call in calls)
    assert stdout.count("session ") == len(CONVERSATIONS), "the report of what was recorded"


def test_an_unreachable_otlp_endpoint_is_one_line(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        endpoint = f"http://127.0.0.1:{port}"
        done = run_demo(tmp_path / "x.jsonl", "t", env=demo_environment(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint))
    assert done.returncode == 2
    message = one_line_error(done.stderr)
    assert message.startswith(f"otel-identity demo: cannot reach the OTLP endpoint {endpoint} (")
    assert message.endswith("unset OTEL_EXPORTER_OTLP_ENDPOINT to write the spans to a file")


def test_demo_help_describes_the_command_and_every_option() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "otel_identity_demo", "demo", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**demo_environment(), "COLUMNS": "400"},  # one line per help text
        check=False,
    )
    assert done.returncode == 0
    assert "Start three agent services on 127.0.0.1 (concierge, flights, hotels;" in done.stdout
    assert "Ctrl-C stops every service and keeps what was recorded." in done.stdout
    assert "suffix of the session ids, 1-32 letters, digits or '-'" in done.stdout
    assert "replaced only once every service is up, so a failed start keeps the previous file" in done.stdout
