"""pytest plugin: per-test outcomes as JSON (``-p framework_suites_report``), loaded in both runs.

Writes ``{nodeid: {"outcome": ..., "detail": ...}}`` to ``$FRAMEWORK_SUITES_REPORT``. Outcomes: ``passed``,
``failed`` (call phase), ``error`` (setup/teardown), ``skipped``, ``xfailed``, ``xpassed``, and
``collection-error`` for a module that could not be imported. ``detail`` is the first lines of the failure.
"""

from __future__ import annotations

import json
import os
from typing import Any

_RESULTS: dict[str, dict[str, str]] = {}
_RANK = {"passed": 0, "skipped": 1, "xfailed": 1, "xpassed": 2, "failed": 3, "error": 4}


def _detail(report: Any, lines: int = 12) -> str:
    text = getattr(report, "longreprtext", "") or ""
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    head = [line for line in text.splitlines() if line.startswith("E ")][:lines] or text.splitlines()[-lines:]
    if crash is not None:
        head.insert(0, f"{crash.path}:{crash.lineno}")
    return "\n".join(head)


def _record(nodeid: str, outcome: str, detail: str = "") -> None:
    previous = _RESULTS.get(nodeid)
    if previous is None or _RANK.get(outcome, 0) > _RANK.get(previous["outcome"], 0):
        _RESULTS[nodeid] = {"outcome": outcome, "detail": detail}


def pytest_runtest_logreport(report: Any) -> None:
    if hasattr(report, "wasxfail"):
        _record(report.nodeid, "xfailed" if report.skipped else "xpassed")
    elif report.failed:
        _record(report.nodeid, "failed" if report.when == "call" else "error", _detail(report))
    elif report.skipped:
        _record(report.nodeid, "skipped")
    elif report.when == "call":
        _record(report.nodeid, "passed")


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _record(report.nodeid, "collection-error", _detail(report))


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get("FRAMEWORK_SUITES_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(_RESULTS, out, indent=1, sort_keys=True)
