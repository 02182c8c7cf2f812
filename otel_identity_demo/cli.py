"""The ``otel-identity`` command.

``otel-identity demo``
    Start three agent services on 127.0.0.1 (concierge, flights, hotels), play scripted
    conversations through them, and print the sessions report. No Docker, no API keys.
    Spans go to ``OTEL_EXPORTER_OTLP_ENDPOINT`` when it is set, else (or also, with
    ``--output``) to an OTLP/JSON file.
``otel-identity sessions FILE [FILE ...]``
    The sessions report of OTLP/JSON files (this demo's, or the OpenTelemetry Collector's
    ``file`` exporter's). ``--json`` for machines.

Errors a user can fix (a port in use, a missing extra, an unwritable path) print one line
saying what to do and exit with code 2; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import IO, Final

from otel_identity.version import __version__

__all__ = ["main"]

EXIT_ERROR: Final = 2
EXIT_INTERRUPTED: Final = 130
_PROGRESS_MIN_BYTES: Final = 32 * 1024 * 1024
_PROGRESS_EVERY: Final = 0.5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otel-identity", description="See one agent conversation across runs, A2A tasks, responses and services."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run three agent services locally and print the sessions report")
    demo.add_argument(
        "--output",
        default=None,
        help="OTLP/JSON file for the spans, emptied first (default: ./otel-identity-demo.jsonl, "
        "or none when OTEL_EXPORTER_OTLP_ENDPOINT is set)",
    )
    demo.add_argument(
        "--port-base", type=int, default=None, help="flights on this port, hotels on the next (default: free ports)"
    )
    demo.add_argument("--run-tag", default=None, help="suffix of the session ids (default: random)")
    demo.add_argument(
        "--pace", type=float, default=0.0, help="seconds between a session's turns, to watch a live UI (default: 0)"
    )
    demo.add_argument("--json", action="store_true", help="print the report as JSON")

    sessions = commands.add_parser("sessions", help="print the sessions report of OTLP/JSON files")
    sessions.add_argument("files", nargs="+", metavar="FILE", help="OTLP/JSON file, one export request per line")
    sessions.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _fail(command: str, message: str) -> int:
    sys.stderr.write(f"otel-identity {command}: {message}\n")
    return EXIT_ERROR


class _FileProgress:
    """Percent read, on stderr, for files big enough to take a while (only to a terminal)."""

    def __init__(self, total: int, err: IO[str]) -> None:
        self._total = total
        self._err = err
        self._shown = 0.0
        self.active = total >= _PROGRESS_MIN_BYTES and err.isatty()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self._shown >= _PROGRESS_EVERY:
            self._shown = now
            self._err.write(f"\rreading: {100 * done // max(1, self._total)}% of {self._total // (1024 * 1024)} MB")
            self._err.flush()

    def finish(self) -> None:
        self._err.write("\r" + " " * 40 + "\r")
        self._err.flush()


def _report(files: Sequence[str], *, as_json: bool, err: IO[str]) -> tuple[str, int]:
    """The report of ``files`` (text or JSON) and the number of sessions in it."""
    from otel_identity.sessions_report import build_report, render_text

    total = sum(os.path.getsize(path) for path in files)
    progress = _FileProgress(total, err)
    report = build_report(files, progress=progress if progress.active else None)
    if progress.active:
        progress.finish()
    text = json.dumps(report.to_json(), indent=2) if as_json else render_text(report)
    return text, len(report.sessions)


def _sessions(args: argparse.Namespace) -> int:
    for path in args.files:
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            reason = "no such file" if not os.path.exists(path) else "not a readable file"
            return _fail("sessions", f"cannot read {path}: {reason}")
    try:
        text, _ = _report(args.files, as_json=args.json, err=sys.stderr)
    except OSError as error:
        return _fail("sessions", f"cannot read {error.filename}: {error.strerror}")
    sys.stdout.write(text + "\n")
    return 0


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _demo(args: argparse.Namespace) -> int:
    from otel_identity.demo.runner import DemoError, DemoOptions, run_demo

    err = sys.stderr
    options = DemoOptions(output=args.output, port_base=args.port_base, run_tag=args.run_tag, pace=args.pace)
    previous = signal.signal(signal.SIGTERM, _terminate)  # SIGTERM stops the demo as cleanly as Ctrl-C
    try:
        result = run_demo(options, err=err)
    except DemoError as error:
        return _fail("demo", str(error))
    finally:
        signal.signal(signal.SIGTERM, previous)
    if result.interrupted:
        err.write("otel-identity demo: interrupted; every service was stopped and flushed what it recorded\n")
    if result.output is not None:
        text, count = _report([result.output], as_json=args.json, err=err)
        sys.stdout.write(text + "\n")
        if not args.json:
            err.write(
                f"\n{count} sessions in {result.output} ({result.seconds:.1f} s). Load the file into Jaeger or "
                "Grafana Tempo with the OpenTelemetry Collector's otlpjsonfile receiver (see the README); "
                f"`otel-identity sessions {os.path.relpath(result.output)}` prints this report again.\n"
            )
    else:
        sys.stdout.write(
            json.dumps({"endpoint": result.endpoint, "sessions": result.session_ids}, indent=2)
            if args.json
            else f"spans sent to {result.endpoint}; sessions: {', '.join(result.session_ids)}"
        )
        sys.stdout.write("\n")
    return EXIT_INTERRUPTED if result.interrupted else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``otel-identity`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        return _sessions(args)
    except KeyboardInterrupt:
        sys.stderr.write(f"otel-identity {args.command}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`otel-identity sessions f | head`): not an error
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream until exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
