"""What otel-identity costs, measured side by side with its peers in one run.

Usage::

    python benchmarks/run.py            # full run, a few minutes on 2 cores
    python benchmarks/run.py --quick    # short run that only shows every benchmark executes (CI)
    python benchmarks/run.py --only 1,4 # some benchmarks
    python benchmarks/run.py --clock cpu # CPU time instead of elapsed time (a loaded machine)

Needs the project with its ``test`` extra (``pip install -e '.[test]'``: agent-framework,
a2a-sdk, ``opentelemetry-processor-baggage``); the peers of benchmark 5 are optional
(``pip install -r benchmarks/requirements.txt``), a missing one is skipped with a printed
line. Prints the machine's load average at the start, after each benchmark and at the end
(other processes on the cores widen every spread), then one table: benchmark, variant
timings, ratio (median of per-round ratios), its spread, the target and PASS/MISS (``-`` for
a peer's row, which has no target). The exit status is 0 whether targets are met or not:
benchmarks are not tests (``--quick`` figures mean nothing).

Benchmarks
----------
1. span stamping: identities on spans through :class:`otel_identity.IdentitySpanProcessor`,
   against the bare SDK with the attributes passed at span creation (a) and against
   ``opentelemetry-processor-baggage``'s ``BaggageSpanProcessor`` (b).
2. an agent-framework agent run (deterministic chat client, the framework's telemetry on),
   with and without ``AgentFrameworkInstrumentor`` and the identity processor.
3. an A2A round trip over 127.0.0.1 (a2a-sdk client and server), with and without
   ``A2AInstrumentor``, the identity processor and propagator.
4. memory: 100,000 runs over 10,000 sessions, growth after warm-up (tracemalloc); then the same
   through real agent-framework runs (10,000 runs over 1,000 sessions).
5. the peers, side by side: per span and per agent-framework run, each peer's documented
   session mechanism (``BaggageSpanProcessor``, Logfire, Langfuse, OpenInference) and ours,
   as ratios to the limit (the bare SDK with ``session.id`` passed explicitly; the
   framework's own telemetry without any session mechanism), with how many spans each
   variant really stamped.
7. (``--only 7``) an agent-framework-orchestrations Sequential workflow run (planner -> reviewer, the framework's
   telemetry on), with and without ``AgentFrameworkInstrumentor`` and the identity processor.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import CLOCKS, Row, table, use_clock

BENCHMARKS = {
    "1": "bench_stamping",
    "2": "bench_agent",
    "3": "bench_a2a",
    "4": "bench_memory",
    "5": "bench_peers",
}
OPTIONAL = {"6": "bench_sampling", "7": "bench_workflow"}
"""Run only when named (``--only 6``, ``--only 7``): session sampling against the SDK's ratio sampler; a Sequential
workflow run (needs agent-framework-orchestrations, the ``workflows`` extra)."""


def _missing_dependencies() -> list[str]:
    import importlib.util

    needed = {
        "opentelemetry.processor.baggage": "opentelemetry-processor-baggage",
        "agent_framework": "agent-framework-core",
        "a2a": "a2a-sdk[http-server]",
        "uvicorn": "uvicorn",
        "otel_identity_agent_framework": "otel-identity (pip install -e .)",
    }
    missing = []
    for module, package in needed.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(package)
    return missing


def _load() -> str:
    """The machine's load average (1, 5, 15 min): other processes competing for the cores."""
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few rounds: checks that everything runs")
    parser.add_argument("--only", default="", help="comma-separated benchmark numbers, e.g. 1,3")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall: elapsed time (default); cpu: the process's CPU time, a cross-check on a loaded machine",
    )
    args = parser.parse_args(argv)
    use_clock(args.clock)
    missing = _missing_dependencies()
    if missing:
        print(f"missing: {', '.join(missing)}; install the project with: pip install -e '.[test]'", file=sys.stderr)
        return 2
    chosen = [key.strip() for key in args.only.split(",") if key.strip()] or list(BENCHMARKS)
    unknown = [key for key in chosen if key not in BENCHMARKS and key not in OPTIONAL]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    print(
        f"otel-identity benchmarks ({'quick' if args.quick else 'full'}, {args.clock} clock): "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {_load()}",
        flush=True,
    )
    rows: list[Row] = []
    for key in chosen:
        module = __import__({**BENCHMARKS, **OPTIONAL}[key])
        started = time.perf_counter()
        print(f"running {key}. {({**BENCHMARKS, **OPTIONAL})[key]} ...", flush=True)
        found: list[Row] = module.run(quick=args.quick)
        rows.extend(found)
        print(f"  done in {time.perf_counter() - started:.1f}s, {_load()}", flush=True)
    print()
    print(table(rows))
    print()
    print(
        "Ratios are medians of per-round ratios (variants interleaved, order rotated each round); "
        "spread = 25th-75th percentile of those ratios. Memory rows: tracemalloc growth after warm-up."
    )
    print(f"At the end: {_load()}.", end=" ")
    print(
        f"A load above {os.cpu_count()} (the CPUs) means other processes took turns on the cores: "
        "figures from such a run are wider; rerun when the machine is quiet."
    )
    if args.quick:
        print("Quick mode: too few rounds for the figures to mean anything; it checks that every benchmark runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
