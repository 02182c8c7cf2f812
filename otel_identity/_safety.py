"""Our code must never break the app: failures inside telemetry are logged and swallowed.

The first failure of each kind is logged at WARNING so it is seen once; repeats go to
DEBUG so a hot path with a persistent fault does not flood the app's logs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["guard", "logger"]

logger = logging.getLogger("otel_identity")

_seen: set[str] = set()
_seen_lock = threading.Lock()


@contextmanager
def guard(where: str) -> Iterator[None]:
    """Swallow and log any ``Exception`` raised inside the block (telemetry code only).

    Never wrap the app's own call in this: the app's exceptions must pass through.
    """
    try:
        yield
    except Exception:
        with _seen_lock:
            first = where not in _seen
            _seen.add(where)
        logger.log(
            logging.WARNING if first else logging.DEBUG,
            "otel-identity: error in %s was swallowed; telemetry may be incomplete",
            where,
            exc_info=True,
        )
