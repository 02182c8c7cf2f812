"""The benchmark script runs and reports every benchmark; its figures are not checked here.

Benchmarks are not tests: ``--quick`` runs too few rounds for its ratios to mean anything,
and a loaded CI machine would make any threshold flaky. What must hold is that the script
executes every benchmark to the end and prints each result next to its target.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EXPECTED_TARGETS = {
    "1. stamping, per span: ours / explicit (a)": "<= 1.15x",
    "1. stamping, per span: ours / baggage (b)": "< 1.00x",
    "1. stamping, run of 10 spans: ours / explicit (a)": "<= 1.15x",
    "1. stamping, run of 10 spans: ours / baggage (b)": "< 1.00x",
    "2. agent-framework run": "<= 1.05x",
    "3. A2A round trip (127.0.0.1)": "<= 1.03x",
    "4. memory, scopes + spans": "< 2 MB",
    "4. memory, agent-framework runs": "< 2 MB",
    "5. per span: otel-identity processor + session_scope": "<= 1.10x",
    "5. per run: otel-identity processor + session_scope": "<= 1.05x",
    "5. per run: otel-identity + AgentFrameworkInstrumentor": "<= 1.05x",
}
BEST_PEER = re.compile(r"^<= \d+\.\d{2}x \(best peer\)$")
"""Ours against the best peer that stamps, when that peer's ratio is below the fixed target."""
PEERS = {
    "BaggageSpanProcessor": "BaggageSpanProcessor + baggage",
    "Logfire": "Logfire set_baggage + baggage processor",
    "Langfuse": "Langfuse processor + propagate_attributes",
    "OpenInference": "OpenInference provider + AF processor + using_session",
}
"""Optional peers (benchmarks/requirements.txt): each has its rows, or the run says it skipped it."""
STAMPED = re.compile(r"^\[\d+/\d+ spans stamped\] ")
RATIO = re.compile(r"^\d+\.\d{3}x$")
GROWTH = re.compile(r"^[+-]\d+\.\d{3} MB$")


def test_quick_run_prints_every_ratio_next_to_its_target() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for number in ("1", "2", "3", "4", "5"):
        assert any(line.startswith(f"running {number}. ") for line in lines), result.stdout

    header = next(index for index, line in enumerate(lines) if line.startswith("benchmark "))
    columns = [match.start() for match in re.finditer(r"-+", lines[header + 1])]
    rows: dict[str, list[str]] = {}
    for line in lines[header + 2 :]:
        if not line.strip():
            break
        cells = [line[start:end].strip() for start, end in zip(columns, [*columns[1:], None], strict=True)]
        rows[cells[0]] = cells

    peer_rows: dict[str, list[str]] = {}
    for peer, label in PEERS.items():
        names = [f"5. per span: {label}", f"5. per run: {label}"]
        if f"skipping peer {peer}: " in result.stdout:
            assert not any(name in rows for name in names), peer
            continue
        for name in names:
            assert name in rows, (name, result.stdout)
            peer_rows[name] = rows.pop(name)
    for name, (_, timings, value, _, target, verdict) in peer_rows.items():
        assert (target, verdict) == ("-", "-"), name
        assert STAMPED.match(timings), (name, timings)
        assert RATIO.match(value), (name, value)

    assert sorted(rows) == sorted(EXPECTED_TARGETS)
    for name, (_, timings, value, _, target, verdict) in rows.items():
        assert target == EXPECTED_TARGETS[name] or (name.startswith("5. ") and BEST_PEER.match(target)), name
        assert verdict in ("PASS", "MISS"), name
        if name.startswith("5. "):
            assert STAMPED.match(timings), (name, timings)
        assert timings, name
        if target.endswith("x") or BEST_PEER.match(target):
            assert RATIO.match(value), (name, value)
            assert " vs " in timings, name
        else:
            assert GROWTH.match(value), (name, value)
