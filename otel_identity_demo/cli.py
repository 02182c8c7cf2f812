"""The ``otel-identity`` command.

``otel-identity demo``
    Start three agent services on 127.0.0.1 (concierge, flights, hotels), play scripted
    conversations through them, and print the sessions report. No Docker, no API keys.
    Spans go to ``OTEL_EXPORTER_OTLP_ENDPOINT`` when it is set, else (or also, with
    ``--output``) to an OTLP/JSON file.
``otel-identity sessions FILE [FILE ...]``
    The sessions report of OTLP/JSON files (this demo's, or the OpenTelemetry Collector's
    ``file`` exporter's; ``-`` reads standard input). ``--json`` for machines.

Exit codes: 0 done; 1 the demo ran but not every span reached its destination (the last
line says, per service, how many were exported and how many failed or timed out); 2 an
error a user can fix (a port in use or not allowed, a missing extra, an unwritable path, a
file with no OTLP/JSON in it), in one line that says what to do; 130 interrupted (Ctrl-C).
``python -m otel_identity_demo`` is the same command.
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
from typing import IO, TYPE_CHECKING, Final

from otel_identity.version import __version__
from otel_identity_demo._delivery import delivery_line

if TYPE_CHECKING:
    from otel_identity_demo.sessions_report import Report

__all__ = ["main"]

EXIT_UNDELIVERED: Final = 1
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

    demo = commands.add_parser(
        "demo",
        help="run three agent services locally and print the sessions report",
        description="Start three agent services on 127.0.0.1 (concierge, flights, hotels; agent-framework and "
        "A2A, a scripted model, no API keys), play five conversations through them, stop them, and print "
        "the sessions report. Spans go to OTEL_EXPORTER_OTLP_ENDPOINT when it is set, else to an OTLP/JSON "
        "file. Ctrl-C stops every service and keeps what was recorded.",
    )
    demo.add_argument(
        "--output",
        default=None,
        help="OTLP/JSON file for the spans; replaced only once every service is up, so a failed start keeps "
        "the previous file (default: ./otel-identity-demo.jsonl, or none when OTEL_EXPORTER_OTLP_ENDPOINT is set)",
    )
    demo.add_argument(
        "--port-base", type=int, default=None, help="flights on this port, hotels on the next (default: free ports)"
    )
    demo.add_argument(
        "--run-tag",
        default=None,
        help="suffix of the session ids, 1-32 letters, digits or '-', to find a run's sessions in a backend "
        "(default: random)",
    )
    demo.add_argument(
        "--pace", type=float, default=0.0, help="seconds between a session's turns, to watch a live UI (default: 0)"
    )
    demo.add_argument("--json", action="store_true", help="print the report as JSON")

    sessions = commands.add_parser(
        "sessions",
        help="print the sessions report of OTLP/JSON files",
        description="Print, per session.id, the services, runs, A2A tasks, responses and errors found in "
        "OTLP/JSON files (one export request per line: the demo's file, or the Collector's file exporter's).",
    )
    sessions.add_argument(
        "files", nargs="+", metavar="FILE", help="OTLP/JSON file, one export request per line; '-' reads stdin"
    )
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


def _report(files: Sequence[str], *, as_json: bool, err: IO[str]) -> tuple[str, Report]:
    """The report of ``files`` (text or JSON), and the report itself."""
    from otel_identity_demo.sessions_report import STDIN, build_report, render_text

    total = sum(os.path.getsize(path) for path in files if path != STDIN)
    progress = _FileProgress(total, err)
    report = build_report(files, progress=progress if progress.active else None)
    if progress.active:
        progress.finish()
    text = json.dumps(report.to_json(), indent=2) if as_json else render_text(report)
    return text, report


def _sessions(args: argparse.Namespace) -> int:
    from otel_identity_demo.sessions_report import STDIN

    for path in args.files:
        if path != STDIN and (not os.path.isfile(path) or not os.access(path, os.R_OK)):
            reason = "no such file" if not os.path.exists(path) else "not a readable file"
            return _fail("sessions", f"cannot read {path}: {reason}")
    try:
        text, report = _report(args.files, as_json=args.json, err=sys.stderr)
    except OSError as error:
        return _fail("sessions", f"cannot read {error.filename}: {error.strerror}")
    if report.lines == report.bad_lines:  # nothing at all was OTLP/JSON: a wrong file, not an empty report
        where = "standard input" if list(args.files) == [STDIN] else ", ".join(args.files)
        found = "is empty" if report.lines == 0 else f"has {report.lines} lines and none is an OTLP/JSON export request"
        return _fail("sessions", f"no OTLP/JSON in {where}: it {found} (one ExportTraceServiceRequest per line)")
    sys.stdout.write(text + "\n")
    if report.bad_lines and not args.json:
        sys.stderr.write(
            f"otel-identity sessions: skipped {report.bad_lines} of {report.lines} lines that are not OTLP/JSON\n"
        )
    return 0


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _demo(args: argparse.Namespace) -> int:
    from otel_identity_demo.runner import DemoError, DemoOptions, run_demo

    err = sys.stderr
    options = DemoOptions(output=args.output, port_base=args.port_base, run_tag=args.run_tag, pace=args.pace)
    previous = signal.signal(signal.SIGTERM, _terminate)  # SIGTERM stops the demo as cleanly as Ctrl-C
    try:
        result = run_demo(options, err=err)
    except DemoError as error:
        return _fail("demo", str(error))
    finally:
        signal.signal(signal.SIGTERM, previous)
    if result.interrupted and not result.started:
        err.write("otel-identity demo: interrupted while the services started; every service was stopped, ")
        err.write("and the output file was left as it was\n")
        return EXIT_INTERRUPTED
    if result.interrupted:
        err.write("otel-identity demo: interrupted; every service was stopped and flushed what it recorded\n")
    delivered = True
    if result.output is not None:
        text, report = _report([result.output], as_json=args.json, err=err)
        sys.stdout.write(text + "\n")
        if not args.json:
            err.write(
                f"\n{len(report.sessions)} sessions in {result.output} ({result.seconds:.1f} s). Load the file into "
                "Jaeger or Grafana Tempo with the OpenTelemetry Collector's otlpjsonfile receiver (see the README); "
                f"`otel-identity sessions {os.path.relpath(result.output)}` prints this report again.\n"
            )
        file_line, file_ok = delivery_line(result.delivery, "file", result.output)
        if not file_ok:
            err.write(f"otel-identity demo: {file_line}\n")
        delivered = file_ok
    if result.endpoint is not None:
        otlp_line, otlp_ok = delivery_line(result.delivery, "otlp", result.endpoint)
        sessions = ", ".join(result.session_ids)
        if args.json and result.output is None:
            summary = {"endpoint": result.endpoint, "sessions": result.session_ids, "delivery": result.delivery}
            sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        if otlp_ok:
            out = sys.stdout if result.output is None and not args.json else err
            out.write(f"{otlp_line}; sessions: {sessions}\n")
        else:
            err.write(f"otel-identity demo: {otlp_line}; sessions: {sessions}\n")
        delivered = delivered and otlp_ok
    if result.interrupted:
        return EXIT_INTERRUPTED
    return 0 if delivered else EXIT_UNDELIVERED


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
