"""How a demo service process talks to the ``otel-identity demo`` runner that started it.

* stdout carries one-line messages for the runner: ``READY <url>``, ``TURN ...``,
  ``ERROR <what to do>``, and last ``SPANS <json>`` (how many spans each destination took,
  see :class:`~otel_identity_demo._telemetry.Delivery`); the service's logs go to stderr.
* The service stops on SIGTERM or SIGINT, and also when its stdin reaches end of file: if
  the runner dies, its pipes close and no service is left behind. The runner does both
  (closes stdin, then signals), so a stop request arrives twice, from two threads, in either
  order: :func:`stop_when_asked` acts on the first and ignores the rest.
* A service always shuts its tracer provider down before it exits (:func:`shut_down`), deaf
  to further stop requests, so what was recorded is flushed, also after Ctrl-C. A signal
  handler runs in the main thread even while it waits for the export thread: a handler that
  raised there (the concierge's asks a closed event loop to cancel) aborted the flush, and
  the service exited with its spans still queued.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, Final

__all__ = ["EXIT_USAGE", "bind_problem", "quiet_logs", "read_line", "shut_down", "stop_when_asked", "tell"]

logger = logging.getLogger("otel_identity_demo")

_STDIN: Final = 0

EXIT_USAGE: Final = 2
"""Exit code of a service that could not start for a reason the user can fix (port in use)."""


def tell(kind: str, *words: object) -> None:
    """Send one message line to the runner."""
    sys.stdout.write(" ".join([kind, *map(str, words)]) + "\n")
    sys.stdout.flush()


def read_line() -> str:
    """One line from stdin, read unbuffered ('' at end of file), so :func:`watch_stdin` sees the rest."""
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(_STDIN, 1)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", errors="replace")


def _watch_stdin(stop: Callable[[], None]) -> None:
    """Call ``stop`` (from a daemon thread) when stdin is closed.

    It reads the file descriptor directly: a daemon thread blocked inside ``sys.stdin``'s
    buffered reader would abort the interpreter at exit.
    """

    def watch() -> None:
        try:
            while os.read(_STDIN, 4096):
                pass
        except OSError:
            pass
        stop()

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def stop_when_asked(stop: Callable[[], None]) -> None:
    """Call ``stop`` once, on the first of SIGTERM, SIGINT or stdin end of file; it never raises.

    Call from the main thread (signal handlers are installed there).
    """
    asked: list[bool] = []

    def request() -> None:
        if asked:
            return
        asked.append(True)
        try:
            stop()
        except Exception:  # e.g. the service finished meanwhile: there is nothing left to stop
            logger.debug("stop request after the service stopped", exc_info=True)

    def handler(signum: int, frame: object) -> None:
        request()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
    _watch_stdin(request)


def shut_down(provider: Any, delivery: Any) -> None:
    """Flush and shut down tracing, then tell the runner ``SPANS <counts as JSON>`` (``delivery.to_json()``).

    Stop signals are ignored from here on, so nothing interrupts the flush.
    """
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    provider.shutdown()
    with contextlib.suppress(OSError):  # the runner is gone (its pipe closed): nobody to tell
        tell("SPANS", json.dumps(delivery.to_json(), separators=(",", ":")))


def bind_problem(port: int, error: OSError, *, option: str = "--port-base") -> str:
    """What to tell a user whose port could not be bound: in use and not allowed are different fixes."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on 127.0.0.1 is in use: stop what uses it, choose another {option}, "
            f"or leave {option} out to use free ports"
        )
    if error.errno in (errno.EACCES, errno.EPERM):
        return (
            f"port {port} on 127.0.0.1 needs privileges this user does not have (ports below 1024 are "
            f"reserved): choose a {option} of 1024 or above, or leave {option} out to use free ports"
        )
    return f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}"


def quiet_logs() -> None:
    """Warnings and errors of the frameworks go to stderr, which the runner keeps in a log file."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
