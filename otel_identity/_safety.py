"""Our code must never break the app: failures inside telemetry are logged and swallowed.

The first failure of each kind is logged at WARNING so it is seen once; repeats go to
DEBUG so a hot path with a persistent fault does not flood the app's logs.

``guard`` is a plain class, not a ``contextlib`` generator, and one instance per site is
reused: it runs on every span and every agent run, where a generator-based context
manager cost as much as the attribute stamping itself (measured in ``benchmarks/``).
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

__all__ = ["guard", "logger", "report_swallowed"]

logger = logging.getLogger("otel_identity")

_seen: set[str] = set()
_seen_lock = threading.Lock()


def report_swallowed(where: str) -> None:
    """Log the exception being handled as swallowed at ``where`` (call from an ``except`` block)."""
    with _seen_lock:
        first = where not in _seen
        _seen.add(where)
    logger.log(
        logging.WARNING if first else logging.DEBUG,
        "otel-identity: error in %s was swallowed; telemetry may be incomplete",
        where,
        exc_info=True,
    )


class _Guard:
    __slots__ = ("where",)

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc_type is None or not issubclass(exc_type, Exception):
            return False  # BaseException (cancellation, KeyboardInterrupt) is never ours to swallow
        report_swallowed(self.where)
        return True


_guards: dict[str, _Guard] = {}


def guard(where: str) -> _Guard:
    """Swallow and log any ``Exception`` raised inside the ``with`` block (telemetry code only).

    Never wrap the app's own call in this: the app's exceptions must pass through.
    """
    found = _guards.get(where)
    if found is None:
        found = _guards.setdefault(where, _Guard(where))
    return found
