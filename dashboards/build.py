"""Generate the dashboards' JSON, or check that the committed JSON is what the code generates.

The JSON is deterministic (sorted keys, two-space indent, a final newline), so a diff of
``dashboards/generated`` shows exactly what a change to the code changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import a2a, session_detail, sessions

__all__ = ["DASHBOARDS", "GENERATED", "check", "main", "render", "write"]

GENERATED: Final = Path(__file__).resolve().parent / "generated"
"""Where the JSON is committed (and where ``deploy/grafana`` provisions it from)."""

DASHBOARDS: Final[Mapping[str, Callable[[], Dashboard]]] = MappingProxyType(
    {
        "agent-sessions.json": sessions.build,
        "agent-session-detail.json": session_detail.build,
        "a2a-across-services.json": a2a.build,
    }
)
"""File name -> the function building that dashboard."""


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    rendered = {}
    for name, build in DASHBOARDS.items():
        model = json.loads(JSONEncoder().encode(build().build()))
        rendered[name] = json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return rendered


def write(directory: Path = GENERATED) -> list[Path]:
    """Write every dashboard into ``directory``; remove JSON files no dashboard produces."""
    directory.mkdir(parents=True, exist_ok=True)
    rendered = render()
    for stale in sorted(directory.glob("*.json")):
        if stale.name not in rendered:
            stale.unlink()
    paths = []
    for name, text in rendered.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def check(directory: Path = GENERATED) -> list[str]:
    """What differs between ``directory`` and the code (empty when they are the same)."""
    rendered = render()
    problems = []
    for name, text in rendered.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from what the code generates")
    for path in sorted(directory.glob("*.json")):
        if path.name not in rendered:
            problems.append(f"{path}: no dashboard generates it")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the JSON in --out differs from the code")
    parser.add_argument("--out", type=Path, default=GENERATED, help=f"directory of the JSON (default {GENERATED})")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.out)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run `python -m dashboards` and commit dashboards/generated", file=sys.stderr)
            return 1
        print(f"{len(DASHBOARDS)} dashboards in {args.out} match the code")
        return 0
    for path in write(args.out):
        print(path)
    return 0
