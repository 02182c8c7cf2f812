"""Run the frameworks' own test suites with otel-identity off and on, and report what differs.

A report, not CI: it always exits 0. It fetches nothing; give it suite directories, each holding a ``tests/``
tree and (optionally) the ``pyproject.toml`` with that package's ``[tool.pytest.ini_options]``. The tests run
against the packages installed in the virtualenv (default: this repository's ``.venv``), never a snapshot's
source. Default location: ``$FRAMEWORK_SUITES_DIR`` (default ``/tmp/suites``), every sub-directory with a
``tests/``. The layout used so far, from the snapshots the ``fetch`` tool brings::

    A=<git dir of microsoft/agent-framework>; S=<git dir of a2aproject/a2a-python>; D=/tmp/suites
    for p in core a2a; do
      mkdir -p $D/agent-framework-$p
      git --git-dir=$A archive HEAD python/packages/$p/tests python/packages/$p/pyproject.toml \
        | tar -x -C $D/agent-framework-$p --strip-components=3
    done
    mkdir -p $D/a2a-sdk && git --git-dir=$S archive HEAD tests pyproject.toml | tar -x -C $D/a2a-sdk

Test-only dependencies the suites need in the venv (not otel-identity's): respx, httpx-sse, aiohttp,
pytest-mock, trio (pytest, pytest-asyncio, pytest-timeout are already there).

Each suite is copied to ``--work`` and, because the snapshots are not the installed versions, one thing is
adapted in the copy (both runs see the same copy): ``from M import X`` where the installed ``M`` has no ``X``
becomes ``X = placeholder("M", "X")`` (``framework_suites_missing.py``), so one renamed private does not
hide a whole module. Every rewrite is printed.

Then each suite runs twice with the same pytest options and environment (``OTEL_TRACES_EXPORTER=none``,
``OTEL_METRICS_EXPORTER=none``, ``PYTHONHASHSEED=0``, the suite's own ini with ``addopts`` cleared, unrelated
auto-loaded plugins phoenix/logfire off, ``--tb=native``: pytest's own traceback
rendering of the 7,000-line test_mcp.py hits a CPython 3.11 ``ast`` bug and aborts the session):

- off: plain;
- on: ``-p framework_suites_on``, a plugin calling ``otel_identity.configure(service_name="framework-suite",
  exporter=<counting no-op>, instrument=True)`` before the suite imports anything.

Per-test outcomes come from ``framework_suites_report.py``. Every test whose outcome differs is re-run alone
(``--recheck`` times per mode) to tell a reproducible difference from an order-dependent or flaky one.

Usage::

    scripts/framework-suites.sh [SUITE_DIR ...] [--subset SUITE=PATH[,PATH...]] [--recheck N] [--timeout S]
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
PLUGINS_BOTH = ["-p", "no:cacheprovider", "-p", "no:phoenix", "-p", "no:logfire", "-p", "no:pytest_logfire"]
PLUGINS_BOTH += ["-p", "framework_suites_report"]
PLUGIN_ON = ["-p", "framework_suites_on"]
FAILING = ("failed", "error", "collection-error", "absent")
_MISSING_NAME = re.compile(r"cannot import name '(?P<name>\w+)' from '(?P<module>[\w.]+)'")


def _env(report: Path, stats: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTEST_ADDOPTS"))}
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(SCRIPTS), os.environ.get("PYTHONPATH")])),
        PYTHONHASHSEED="0",
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        FRAMEWORK_SUITES_REPORT=str(report),
    )
    if stats is not None:
        env["FRAMEWORK_SUITES_ON_STATS"] = str(stats)
    return env


def _pytest(python: str, cwd: Path, args: list[str], env: dict[str, str], log: Path, limit: float) -> float:
    start = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        try:
            subprocess.run([python, "-m", "pytest", *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                           timeout=limit, check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            out.write(f"\n[framework_suites] suite time limit {limit:.0f}s reached: run killed\n")
    return time.monotonic() - start


def _rewrite_missing(tests: Path, module: str, name: str) -> list[str]:
    """Replace ``from module import name`` in every file under ``tests`` with a placeholder assignment."""
    changed = []
    for path in sorted(tests.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if name not in source:
            continue
        tree = ast.parse(source)
        lines = source.splitlines(keepends=True)
        edits = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == module:
                hit = [a for a in node.names if a.name == name]
                if not hit:
                    continue
                indent = " " * node.col_offset
                rest = [a for a in node.names if a.name != name]
                new = ""
                if rest:
                    new += indent + ast.unparse(ast.ImportFrom(module=module, names=rest, level=0)) + "\n"
                for alias in hit:
                    new += (
                        f'{indent}{alias.asname or name} = __import__("framework_suites_missing")'
                        f'.placeholder("{module}", "{name}")\n'
                    )
                edits.append((node.lineno, node.end_lineno or node.lineno, new))
        for first, last, new in sorted(edits, reverse=True):
            lines[first - 1 : last] = [new]
        if edits:
            path.write_text("".join(lines), encoding="utf-8")
            changed.append(str(path.relative_to(tests.parent)))
    return changed


def prepare(suite: Path, work: Path, python: str, log_dir: Path) -> tuple[Path, list[str]]:
    """Copy ``suite`` into ``work`` and stand in for names the installed packages no longer have."""
    copy = work / suite.name
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(suite, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    notes: list[str] = []
    done: set[tuple[str, str]] = set()
    for attempt in range(8):
        log = log_dir / f"{suite.name}.collect{attempt}.log"
        report = log_dir / f"{suite.name}.collect.json"
        args = ["--collect-only", "-q", "-o", "addopts=", *PLUGINS_BOTH, "tests"]
        _pytest(python, copy, args, _env(report, None), log, 900)
        found = {(m["module"], m["name"]) for m in _MISSING_NAME.finditer(log.read_text(encoding="utf-8"))} - done
        if not found:
            break
        for module, name in sorted(found):
            done.add((module, name))
            files = _rewrite_missing(copy / "tests", module, name)
            notes.append(f"{module}.{name} missing in the installed package: stand-in in {', '.join(files) or '-'}")
    return copy, notes


def _load(path: Path) -> dict[str, dict[str, str]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _totals(results: dict[str, dict[str, str]]) -> str:
    counts = collections.Counter(r["outcome"] for r in results.values())
    order = ["passed", "failed", "error", "skipped", "xfailed", "xpassed", "collection-error"]
    return ", ".join(f"{counts[k]} {k}" for k in order if counts[k]) or "nothing ran"


def _indent(text: str, prefix: str = "        ") -> str:
    return "\n".join(prefix + line for line in text.splitlines()[:12])


def run_suite(suite: Path, args: argparse.Namespace, out: Path) -> dict[str, object]:
    print(f"\n=== {suite.name} ({suite})", flush=True)
    copy, notes = prepare(suite, Path(args.work), args.python, out)
    for note in notes:
        print(f"  adapted: {note}")
    targets = args.subsets.get(suite.name, ["tests"])
    common = ["-q", "-rN", "--tb=native", "-o", "addopts=", f"--timeout={args.timeout}"]
    common += ["--continue-on-collection-errors", *PLUGINS_BOTH]
    runs: dict[str, dict[str, dict[str, str]]] = {}
    for mode in ("off", "on"):
        report, stats = out / f"{suite.name}.{mode}.json", out / f"{suite.name}.on-stats.json"
        extra = PLUGIN_ON if mode == "on" else []
        env = _env(report, stats if mode == "on" else None)
        report.unlink(missing_ok=True)
        took = _pytest(args.python, copy, [*common, *extra, *targets], env, out / f"{suite.name}.{mode}.log",
                       args.suite_limit)  # fmt: skip
        runs[mode] = _load(report)
        print(f"  {mode:>3}: {_totals(runs[mode])} ({took:.0f}s; log {out / f'{suite.name}.{mode}.log'})", flush=True)
    stats = _load(out / f"{suite.name}.on-stats.json")
    if stats:
        print(f"   on: instrumented {stats.get('instrumented')}; spans exported to the no-op exporter "
              f"{stats.get('spans')}, {stats.get('stamped')} carrying an identity attribute")  # fmt: skip
    off, on = runs["off"], runs["on"]
    absent = {"outcome": "absent", "detail": "not in this run"}
    differing = sorted(n for n in set(off) | set(on) if off.get(n, absent)["outcome"] != on.get(n, absent)["outcome"])
    rechecks: dict[str, dict[str, list[str]]] = {n: {"off": [], "on": []} for n in differing}
    ids = [n for n in differing if "::" in n]
    for round_ in range(args.recheck if ids else 0):
        for mode in ("off", "on"):
            report = out / f"{suite.name}.recheck{round_}.{mode}.json"
            report.unlink(missing_ok=True)
            extra = PLUGIN_ON if mode == "on" else []
            log = out / f"{suite.name}.recheck{round_}.{mode}.log"
            _pytest(args.python, copy, [*common, *extra, *ids], _env(report, None), log, args.suite_limit)
            again = _load(report)
            for n in ids:
                rechecks[n][mode].append(again.get(n, absent)["outcome"])
    print(f"  differing outcomes: {len(differing)}")
    items = []
    for n in differing:
        a, b = off.get(n, absent), on.get(n, absent)
        again = rechecks[n]
        if again["off"]:
            same = set(again["off"]) == {a["outcome"]} and set(again["on"]) == {b["outcome"]}
            verdict = "reproduces alone" if same else "not reproduced alone (order-dependent or flaky)"
            verdict += f": off {again['off']}, on {again['on']}"
        else:
            verdict = "not re-run"
        print(f"  - {n}\n      off: {a['outcome']}  on: {b['outcome']}  [{verdict}]")
        for label, r in (("off", a), ("on", b)):
            if r["outcome"] in FAILING and r.get("detail"):
                print(f"      {label} failure:\n{_indent(r['detail'])}")
        items.append({"nodeid": n, "off": a, "on": b, "recheck": again, "verdict": verdict})
    return {"suite": suite.name, "adapted": notes, "off": _totals(off), "on": _totals(on), "stats": stats,
            "differing": items}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="*", type=Path, help="suite directories (default: $FRAMEWORK_SUITES_DIR/*)")
    parser.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"), help="interpreter of the venv")
    parser.add_argument("--work", default="/tmp/framework-suites-work", help="where the adapted copies and logs go")
    parser.add_argument("--subset", action="append", default=[], metavar="SUITE=PATH[,PATH]",
                        help="run only these paths/node ids of SUITE (relative to the suite directory)")  # fmt: skip
    parser.add_argument("--timeout", type=int, default=120, help="per-test timeout (pytest-timeout), seconds")
    parser.add_argument("--suite-limit", type=float, default=2400, help="wall-clock limit per pytest run, seconds")
    parser.add_argument("--recheck", type=int, default=1, help="re-runs of each differing test alone, per mode")
    args = parser.parse_args(argv)
    args.subsets = {}
    for item in args.subset:
        name, _, paths = item.partition("=")
        args.subsets[name] = [p for p in paths.split(",") if p]
    suites = args.suites
    if not suites:
        base = Path(os.environ.get("FRAMEWORK_SUITES_DIR", "/tmp/suites"))
        suites = sorted(p for p in base.iterdir() if (p / "tests").is_dir()) if base.is_dir() else []
    if not suites:
        print("no suite directories (see the docstring of scripts/framework_suites.py for the layout)")
        return 0
    out = Path(args.work) / "results"
    out.mkdir(parents=True, exist_ok=True)
    print(f"python {args.python}; work {args.work}; started {time.strftime('%H:%M:%S')}; load {os.getloadavg()}")
    summary = [run_suite(Path(s).resolve(), args, out) for s in suites]
    print("\n=== totals")
    for s in summary:
        print(f"  {s['suite']}: off {s['off']} | on {s['on']} | differing {len(s['differing'])}")  # type: ignore[arg-type]
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(f"  details: {out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # a report, not CI: say what went wrong, exit 0 anyway
        print(f"framework_suites: {type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(0)
