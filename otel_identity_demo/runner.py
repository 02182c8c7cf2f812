"""``otel-identity demo``: start the three services, play the conversations, stop, report.

Each service is its own process (``python -m otel_identity_demo.<service>``) with its own
``service.name``; they talk A2A over HTTP on 127.0.0.1. The runner reads the services' one-line
messages (``READY``, ``TURN``, ``DONE``, ``ERROR``) from their stdout with deadlines, shows
progress on stderr, and keeps each service's own stderr in a log file that a failure points
to. Ctrl-C, a failure or the end of the demo stop every service the same way: stdin closed
and SIGTERM, so each flushes its spans before it exits (SIGKILL only after a grace period),
and tells how many spans each destination took (``SPANS``).

The output file is never emptied up front: the services write to a new file next to it
(``.<name>.<random>.partial``), which replaces the output only once every service is up. A
demo that cannot start (a port in use, a service that fails, Ctrl-C during start-up) leaves
the previous file as it was.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import json
import os
import re
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import urlsplit

from otel_identity_demo._process import bind_problem
from otel_identity_demo._telemetry import otlp_endpoint
from otel_identity_demo.script import CONVERSATIONS, session_id

__all__ = ["DEFAULT_OUTPUT", "DemoError", "DemoOptions", "DemoResult", "run_demo"]

DEFAULT_OUTPUT: Final = "otel-identity-demo.jsonl"
SERVICES: Final = ("flights", "hotels")
"""The A2A servers, in port order (``--port-base``, ``--port-base + 1``)."""
START_TIMEOUT: Final = 60.0
PLAY_TIMEOUT: Final = 120.0
STOP_TIMEOUT: Final = 10.0
_REQUIRED_MODULES: Final = (
    "agent_framework",
    "agent_framework_a2a",
    "agent_framework_orchestrations",
    "a2a",
    "uvicorn",
    "starlette",
    "httpx",
)
_RUN_TAG: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")


class DemoError(Exception):
    """A problem the user can fix; its message is one line that says what to do."""


@dataclass(frozen=True)
class DemoOptions:
    output: str | None = None
    """OTLP/JSON file (replaced once the services are up). ``None``: :data:`DEFAULT_OUTPUT` unless an OTLP
    endpoint is configured."""
    port_base: int | None = None
    run_tag: str | None = None
    pace: float = 0.0
    """Seconds between a session's turns (to watch traces arrive in a live UI)."""
    play_timeout: float = PLAY_TIMEOUT


@dataclass
class DemoResult:
    run_tag: str
    session_ids: list[str]
    output: str | None
    endpoint: str | None
    turns: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    started: bool = False
    """Every service came up (and the output file, if any, now holds this run's spans)."""
    delivery: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per service, what it said at exit: ``{"ended": n, "otlp": {"exported": a, "failed": b}, "file": ...}``."""


def _check_extra() -> None:
    missing = [name for name in _REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise DemoError(
            f"the demo needs the 'demo' extra ({', '.join(missing)} missing): pip install 'otel-identity[demo]'"
        )


def _cannot_write(path: str, reason: str) -> DemoError:
    return DemoError(f"cannot write {path}: {reason}; choose a writable file with --output")


def _prepare_output(path: str) -> tuple[str, str]:
    """The output's absolute path, and a new file beside it for the services (the output is not touched).

    Fails now, before anything starts, when the output could not be replaced later.
    """
    final = os.path.abspath(path)
    if os.path.isdir(final):
        raise _cannot_write(path, os.strerror(errno.EISDIR))
    if os.path.exists(final) and not os.access(final, os.W_OK):
        raise _cannot_write(path, os.strerror(errno.EACCES))
    try:
        fd, partial = tempfile.mkstemp(
            prefix=f".{os.path.basename(final)}.", suffix=".partial", dir=os.path.dirname(final)
        )
    except OSError as error:
        raise _cannot_write(path, error.strerror or str(error)) from None
    os.close(fd)
    return final, partial


def _check_ports(base: int) -> list[int]:
    ports = [base + offset for offset in range(len(SERVICES))]
    if not 1 <= base <= 65535 - len(SERVICES):
        raise DemoError(f"--port-base must be between 1 and {65535 - len(SERVICES)}, got {base}")
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                raise DemoError(bind_problem(port, error)) from None
    return ports


def _check_endpoint(endpoint: str) -> None:
    """Fail now, in one line, when the OTLP endpoint does not accept connections (spans would be lost)."""
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    host = parts.hostname or "localhost"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 4317 if parts.scheme == "grpc" else 80)
        with socket.create_connection((host, port), timeout=3):
            pass
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise DemoError(
            f"cannot reach the OTLP endpoint {endpoint} ({reason}): start the backend, or unset "
            "OTEL_EXPORTER_OTLP_ENDPOINT to write the spans to a file"
        ) from None


def _child_environment() -> dict[str, str]:
    env = dict(os.environ)
    # The demo's point is session identity across services: configure() installs the
    # tracecontext + otel_identity propagators when OTEL_PROPAGATORS does not choose others.
    env.pop("OTEL_PROPAGATORS", None)
    return env


class _Child:
    """One service process: its stdin (kept open while it should run), stdout lines, stderr log."""

    def __init__(self, name: str, args: Sequence[str], log_dir: str, env: dict[str, str]) -> None:
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}.log")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"otel_identity_demo.{name}", *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the runner only; it stops the services in order
            )
        self._buffer = b""
        self.closed = False

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode("utf-8") + b"\n")
        self.process.stdin.flush()

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        return [line.decode("utf-8", errors="replace") for line in lines]

    def last_log_line(self) -> str:
        with contextlib.suppress(OSError):
            lines = [line.strip() for line in Path(self.log_path).read_text(errors="replace").splitlines()]
            lines = [line for line in lines if line]
            if lines:
                return lines[-1]
        return "no output"

    def stop(self) -> None:
        """Ask the service to stop (stdin closed, SIGTERM); it flushes its spans as it exits."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        with contextlib.suppress(OSError):
            self.process.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> int:
        try:
            return self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


class _Lines:
    """The children's stdout, line by line, waiting with deadlines (never a fixed sleep)."""

    def __init__(self, children: Sequence[_Child]) -> None:
        self._selector = selectors.DefaultSelector()
        self._pending: list[tuple[_Child, str | None]] = []
        for child in children:
            assert child.process.stdout is not None
            os.set_blocking(child.process.stdout.fileno(), False)
            self._selector.register(child.process.stdout, selectors.EVENT_READ, child)

    def next(self, deadline: float) -> tuple[_Child, str | None]:
        """The next line of any child; ``None`` as the line when that child's stdout closed."""
        while not self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            for key, _ in self._selector.select(timeout=remaining):
                child: _Child = key.data
                stream: IO[bytes] = key.fileobj  # type: ignore[assignment]
                data = os.read(stream.fileno(), 65536)
                if data:
                    self._pending.extend((child, line) for line in child.feed(data))
                else:
                    self._selector.unregister(stream)
                    child.closed = True
                    self._pending.append((child, None))
        return self._pending.pop(0)

    def close(self) -> None:
        self._selector.close()


def _progress(stream: IO[str], message: str) -> None:
    stream.write(message + "\n")
    stream.flush()


def _failure(child: _Child) -> DemoError:
    code = child.process.poll()
    status = f"exited with code {code}" if code is not None else "stopped answering"
    return DemoError(f"{child.name} {status}: {child.last_log_line()} (log: {child.log_path})")


def _wait_ready(lines: _Lines, servers: Sequence[_Child], err: IO[str]) -> dict[str, str]:
    urls: dict[str, str] = {}
    deadline = time.monotonic() + START_TIMEOUT
    while len(urls) < len(servers):
        try:
            child, line = lines.next(deadline)
        except TimeoutError:
            late = ", ".join(server.name for server in servers if server.name not in urls)
            raise DemoError(
                f"{late} did not start within {START_TIMEOUT:.0f} s (logs in {os.path.dirname(servers[0].log_path)})"
            ) from None
        if line is None:  # no service closes its stdout while it should run
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=STOP_TIMEOUT)
            raise _failure(child)
        kind, _, rest = line.partition(" ")
        if kind == "READY" and child in servers:
            urls[child.name] = rest.strip()
            _progress(err, f"  {child.name:<9} ready at {urls[child.name]}")
        elif kind == "ERROR":
            raise DemoError(f"{child.name}: {rest}")
    return urls


def _note_spans(result: DemoResult, child: _Child, rest: str) -> None:
    """Keep a service's ``SPANS`` counts (a malformed line counts as nothing known)."""
    with contextlib.suppress(ValueError):
        counts = json.loads(rest)
        if isinstance(counts, dict):
            result.delivery[child.name] = counts


def _play(lines: _Lines, concierge: _Child, result: DemoResult, timeout: float, err: IO[str]) -> None:
    total = sum(len(conversation.turns) for conversation in CONVERSATIONS)
    deadline = time.monotonic() + timeout
    while True:
        try:
            child, line = lines.next(deadline)
        except TimeoutError:
            raise DemoError(
                f"the conversations did not finish within {timeout:.0f} s (log: {concierge.log_path})"
            ) from None
        if line is None:  # the concierge ended without DONE, or a server died while it was needed
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=STOP_TIMEOUT)
            raise _failure(child)
        kind, _, rest = line.partition(" ")
        if kind == "SPANS":
            _note_spans(result, child, rest)
        if child is not concierge:
            continue
        if kind == "TURN":
            result.turns += 1
            session, index, count, text, answer = _turn_fields(rest)
            _progress(err, f"  [{result.turns:>2}/{total}] {session}  {index}/{count}  {text}  ->  {answer}")
        elif kind == "DONE":
            return
        elif kind == "ERROR":
            raise DemoError(f"concierge: {rest}")


def _turn_fields(rest: str) -> tuple[str, str, str, str, str]:
    parts = rest.split(" ", 3)
    session, index, count = [*parts, "", "", ""][:3]
    remainder = parts[3] if len(parts) > 3 else ""
    decoder = json.JSONDecoder()
    try:
        text, end = decoder.raw_decode(remainder)
        answer, _ = decoder.raw_decode(remainder[end:].lstrip())
    except ValueError:
        text, answer = remainder, ""
    return session, index, count, str(text), str(answer)


@contextlib.contextmanager
def _deaf_to_stop_signals() -> Iterator[None]:
    """A second Ctrl-C while the services stop would abandon their flush: ignore it until they exited."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop(children: Sequence[_Child], lines: _Lines | None, result: DemoResult, err: IO[str]) -> None:
    """Stop every started child, keep what each says it delivered, and wait for it (SIGKILL after the deadline)."""
    with _deaf_to_stop_signals():
        running = [child for child in children if child.process.poll() is None]
        if running:
            _progress(err, "  stopping the services (each flushes its spans)")
        for child in running:
            child.stop()
        deadline = time.monotonic() + STOP_TIMEOUT
        if lines is not None:
            while not all(child.closed for child in children):
                try:
                    child, line = lines.next(deadline)
                except TimeoutError:
                    break
                kind, _, rest = (line or "").partition(" ")
                if kind == "SPANS":
                    _note_spans(result, child, rest)
            lines.close()
        for child in children:
            child.wait(deadline)
            if child.process.stdout is not None:
                child.process.stdout.close()


def _settle_output(result: DemoResult, final: str | None, partial: str | None) -> None:
    """Move this run's file into place once the services were up; otherwise leave the previous one alone."""
    if final is None or partial is None:
        return
    if result.started:
        os.replace(partial, final)
        result.output = final
    else:
        with contextlib.suppress(OSError):
            os.unlink(partial)


def run_demo(options: DemoOptions, *, err: IO[str] = sys.stderr) -> DemoResult:
    """Run the demo; raise :class:`DemoError` with a one-line message when it cannot."""
    started = time.monotonic()
    _check_extra()
    run_tag = options.run_tag or secrets.token_hex(3)
    if not 0 <= options.pace <= 600:
        raise DemoError(f"--pace must be between 0 and 600 seconds, got {options.pace}")
    if not _RUN_TAG.match(run_tag):
        raise DemoError(f"--run-tag must be 1-32 letters, digits or '-', got {run_tag!r}")
    ports = _check_ports(options.port_base) if options.port_base is not None else [0] * len(SERVICES)
    endpoint = otlp_endpoint()
    if endpoint is not None:
        _check_endpoint(endpoint)
    output_name = options.output if options.output is not None else (None if endpoint else DEFAULT_OUTPUT)
    final, partial = _prepare_output(output_name) if output_name is not None else (None, None)
    result = DemoResult(
        run_tag=run_tag,
        session_ids=[session_id(conversation, run_tag) for conversation in CONVERSATIONS],
        output=None,
        endpoint=endpoint,
    )
    destination = " and ".join(part for part in (endpoint and f"OTLP {endpoint}", final) if part)
    _progress(err, f"otel-identity demo: concierge, flights, hotels on 127.0.0.1; spans to {destination}")

    log_dir = tempfile.mkdtemp(prefix="otel-identity-demo-")
    env = _child_environment()
    file_args = ["--output", partial] if partial else []
    children: list[_Child] = []
    lines: _Lines | None = None
    try:
        try:
            for name, port in zip(SERVICES, ports, strict=True):
                children.append(_Child(name, ["--port", str(port), *file_args], log_dir, env))
            concierge = _Child("concierge", file_args, log_dir, env)
            children.append(concierge)
            lines = _Lines(children)
            urls = _wait_ready(lines, children[: len(SERVICES)], err)
            config = {"flights": urls["flights"], "hotels": urls["hotels"], "run_tag": run_tag, "pace": options.pace}
            try:
                concierge.send(json.dumps(config))
            except OSError:  # it exited already; its log says why
                concierge.process.wait()
                raise _failure(concierge) from None
            result.started = True
            longest = max(len(conversation.turns) for conversation in CONVERSATIONS)
            _play(lines, concierge, result, options.play_timeout + options.pace * longest, err)
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            _stop(children, lines, result, err)
    finally:
        _settle_output(result, final, partial)
    shutil.rmtree(log_dir, ignore_errors=True)  # kept only when a failure message points to it
    result.seconds = time.monotonic() - started
    return result
