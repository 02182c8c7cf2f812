"""The demo's last word on its spans: per service, how many reached a destination and how many did not.

Each service counts, for each destination, the spans its exporter took and those it failed
on (an error answer, a timeout, a refused connection), and the spans it ended; ended spans
that neither arrived nor failed were dropped before an export (a full queue). The demo says
"sent" only when every span of every service arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["SERVICES", "delivery_line"]

SERVICES: Final = ("concierge", "flights", "hotels")


def _count(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def delivery_line(delivery: Mapping[str, Mapping[str, Any]], destination: str, where: str) -> tuple[str, bool]:
    """``(line, all delivered)`` for ``destination`` (``"otlp"`` or ``"file"``), whose address is ``where``."""
    parts: list[str] = []
    ok = True
    for service in SERVICES:
        counts = delivery.get(service)
        target = counts.get(destination) if counts is not None else None
        if counts is None or not isinstance(target, Mapping):
            parts.append(f"{service} did not report (it was stopped before it could flush)")
            ok = False
            continue
        ended, exported = _count(counts.get("ended")), _count(target.get("exported"))
        failed = _count(target.get("failed"))
        dropped = max(0, ended - exported - failed)
        if failed or dropped:
            ok = False
            lost = [f"{failed} failed or timed out"] if failed else []
            lost += [f"{dropped} dropped before export"] if dropped else []
            parts.append(f"{service} {exported} of {ended} exported, {', '.join(lost)}")
        else:
            parts.append(f"{service} {exported}")
    if ok:
        return f"spans sent to {where}: {', '.join(parts)}", True
    return f"not every span reached {where}: {'; '.join(parts)}", False
