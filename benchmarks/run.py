"""What otel-identity costs, measured side by side with its peers in one run.

Usage::

    python benchmarks/run.py            # full run, a few minutes on 2 cores
    python benchmarks/run.py --quick    # short run that only shows every benchmark executes (CI)
    python benchmarks/run.py --only 1,4 # some benchmarks

Needs the project with its ``test`` extra (``pip install -e '.[test]'``: agent-framework,
a2a-sdk, ``opentelemetry-processor-baggage``). Prints one table: benchmark, variant timings,
ratio (median of per-round ratios), its spread, the target and PASS/MISS. The exit status is
0 whether targets are met or not: benchmarks are not tests (``--quick`` figures mean nothing).

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
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Row, table

BENCHMARKS = {
    "1": "bench_stamping",
    "2": "bench_agent",
    "3": "bench_a2a",
    "4": "bench_memory",
}


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few rounds: checks that everything runs")
    parser.add_argument("--only", default="", help="comma-separated benchmark numbers, e.g. 1,3")
    args = parser.parse_args(argv)
    missing = _missing_dependencies()
    if missing:
        print(f"missing: {', '.join(missing)}; install the project with: pip install -e '.[test]'", file=sys.stderr)
        return 2
    chosen = [key.strip() for key in args.only.split(",") if key.strip()] or list(BENCHMARKS)
    unknown = [key for key in chosen if key not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"otel-identity benchmarks ({'quick' if args.quick else 'full'}): Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    rows: list[Row] = []
    for key in chosen:
        module = __import__(BENCHMARKS[key])
        started = time.perf_counter()
        print(f"running {key}. {BENCHMARKS[key]} ...", flush=True)
        found: list[Row] = module.run(quick=args.quick)
        rows.extend(found)
        print(f"  done in {time.perf_counter() - started:.1f}s", flush=True)
    print()
    print(table(rows))
    print()
    print(
        "Ratios are medians of per-round ratios (variants interleaved, order rotated each round); "
        "spread = 25th-75th percentile of those ratios. Memory rows: tracemalloc growth after warm-up."
    )
    if args.quick:
        print("Quick mode: too few rounds for the figures to mean anything; it checks that every benchmark runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
