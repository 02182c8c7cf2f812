"""Reading a demo's OTLP/JSON file for the tests, independently of :mod:`otel_identity_demo.sessions_report`.

The end-to-end tests check the report against what they compute here from the raw lines, so
this module shares no code with the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER, CLIENT = 2, 3
ERROR = 2


@dataclass
class RawSpan:
    trace: str
    id: str
    parent: str
    name: str
    kind: int
    service: str
    start: int
    end: int
    attributes: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]]
    status: int


def _decode(value: dict[str, Any]) -> Any:
    (kind, raw), *_ = value.items()
    if kind == "arrayValue":
        return [_decode(item) for item in raw.get("values", [])]
    if kind == "intValue":
        return int(raw)
    return raw


def _attributes(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: _decode(item["value"]) for item in items}


def load(path: Path) -> list[RawSpan]:
    spans: list[RawSpan] = []
    for line in path.read_text().splitlines():
        request = json.loads(line)
        for resource_spans in request.get("resourceSpans", ()):  # log lines (resourceLogs) hold no spans
            service = _attributes(resource_spans["resource"]["attributes"])["service.name"]
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    spans.append(
                        RawSpan(
                            trace=span["traceId"],
                            id=span["spanId"],
                            parent=span.get("parentSpanId", ""),
                            name=span["name"],
                            kind=span.get("kind", 0),
                            service=service,
                            start=int(span["startTimeUnixNano"]),
                            end=int(span["endTimeUnixNano"]),
                            attributes=_attributes(span.get("attributes", [])),
                            events=[
                                (event["name"], int(event["timeUnixNano"]), _attributes(event.get("attributes", [])))
                                for event in span.get("events", [])
                            ],
                            status=span.get("status", {}).get("code", 0),
                        )
                    )
    return spans


@dataclass
class DemoRun:
    """One ``otel-identity demo`` run as a subprocess: its output, file, and how long it took."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    output: Path
    run_tag: str
    spans: list[RawSpan] = field(default_factory=list)


def demo_environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(extra)
    return env


def run_demo(
    output: Path, run_tag: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> DemoRun:
    command = [sys.executable, "-m", "otel_identity_demo.cli", "demo", "--run-tag", run_tag, *args]
    if "--output" not in args:
        command += ["--output", str(output)]
    started = time.monotonic()
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else demo_environment(),
        check=False,
    )
    return DemoRun(done.returncode, done.stdout, done.stderr, time.monotonic() - started, output, run_tag)


def children_of(spans: Sequence[RawSpan]) -> dict[str, list[RawSpan]]:
    children: dict[str, list[RawSpan]] = {}
    for span in spans:
        if span.parent:
            children.setdefault(span.parent, []).append(span)
    return children


def below(spans: Sequence[RawSpan], top: RawSpan) -> list[RawSpan]:
    """``top`` and all its descendants."""
    children = children_of(spans)
    found = [top]
    for span in found:
        found.extend(children.get(span.id, []))
    return found
