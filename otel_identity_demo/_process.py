"""How a demo service process talks to the ``otel-identity demo`` runner that started it.

* stdout carries one-line messages for the runner: ``READY <url>``, ``TURN ...``,
  ``ERROR <what to do>`` (see :func:`tell`); the service's logs go to stderr.
* The service stops on SIGTERM or SIGINT, and also when its stdin reaches end of file: if
  the runner dies, its pipes close and no service is left behind.
* A service always shuts its tracer provider down before it exits, so what was recorded is
  flushed, also after Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Final

__all__ = ["EXIT_USAGE", "on_stop", "quiet_logs", "read_line", "tell", "watch_stdin"]

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


def watch_stdin(stop: Callable[[], None]) -> None:
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


def on_stop(stop: Callable[[], None]) -> None:
    """Call ``stop`` on SIGTERM and SIGINT (in the main thread, as signal handlers run)."""

    def handler(signum: int, frame: object) -> None:
        stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


def quiet_logs() -> None:
    """Warnings and errors of the frameworks go to stderr, which the runner keeps in a log file."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
