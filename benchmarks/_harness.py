"""Timing that holds up on a small, noisy machine: interleaved rounds, paired ratios, medians.

Each benchmark compares variants of the same workload. One *round* runs one timed batch of
every variant, in an order rotated each round, so a burst of noise from another process
hits all variants alike instead of one. The ratio of two variants is taken per round (both
were measured a few milliseconds apart) and the table shows the median of those per-round
ratios with their spread (25th to 75th percentile). Timed sections use
``time.perf_counter_ns`` with the garbage collector disabled; it runs, untimed, between
batches so each batch starts from the same heap.

On a shared machine noise only ever adds time: another process takes the core, a cache is
cold. So a round runs ``repeats`` short batches of every variant (interleaved again) and keeps
each variant's fastest, the batch least disturbed; the rounds are many and short (a few
milliseconds per batch) so a disturbance spoils one batch of one variant, not a whole
comparison. The objects that exist before the measurement (the modules, the framework) are
moved out of the collector's way with ``gc.freeze()``, so the collection between batches
walks only what the workload allocated and stays cheap.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["CLOCKS", "Measured", "Row", "Variant", "measure", "now", "timed", "use_clock"]


@dataclass
class Variant:
    """One way of doing the workload.

    ``batch(n)`` does the work ``n`` times and returns the nanoseconds its timed part took
    (setup that is not the workload stays outside the timer: see :func:`timed`).
    ``enter``/``leave`` run untimed around each batch, e.g. to instrument and uninstrument.
    """

    name: str
    batch: Callable[[int], int]
    enter: Callable[[], None] = lambda: None
    leave: Callable[[], None] = lambda: None


CLOCKS: dict[str, Callable[[], int]] = {"wall": time.perf_counter_ns, "cpu": time.process_time_ns}
"""``wall``: elapsed time, what a user waits for (default). ``cpu``: CPU time of the whole
process (all its threads: the A2A server's and a peer's export thread count), which leaves
out the time another process held the core; a cross-check on a loaded machine."""

_clock: Callable[[], int] = time.perf_counter_ns


def use_clock(name: str) -> None:
    """Time every following batch with ``CLOCKS[name]``."""
    global _clock
    _clock = CLOCKS[name]


def now() -> int:
    """The current reading of the chosen clock, in nanoseconds."""
    return _clock()


def timed(work: Callable[[], object]) -> int:
    """Nanoseconds ``work()`` took on the chosen clock."""
    start = _clock()
    work()
    return _clock() - start


@dataclass
class Measured:
    """Per-operation times (ns) of each variant, one entry per round."""

    per_op: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.per_op[name])

    def ratios(self, numerator: str, denominator: str) -> list[float]:
        """Per-round ratios ``numerator / denominator`` (paired: both measured in the same round)."""
        return [a / b for a, b in zip(self.per_op[numerator], self.per_op[denominator], strict=True)]

    def spread(self, name: str) -> float:
        """Interquartile range of a variant's round times, relative to its median."""
        low, high = quartiles(self.per_op[name])
        return (high - low) / self.median(name)


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    cuts = statistics.quantiles(values, n=4)
    return cuts[0], cuts[2]


def _one_batch(variant: Variant, ops: int) -> float:
    variant.enter()
    try:
        gc.collect()
        gc.disable()
        try:
            elapsed = variant.batch(ops)
        finally:
            gc.enable()
    finally:
        variant.leave()
    return elapsed / ops


def measure(variants: Sequence[Variant], *, ops: int, rounds: int, warmup: int = 2, repeats: int = 1) -> Measured:
    """Run ``warmup`` untimed rounds, then ``rounds`` interleaved timed rounds of ``ops`` operations each.

    With ``repeats > 1`` a round runs every variant ``repeats`` times (order rotated between
    repeats too) and keeps each variant's fastest batch of that round.
    """
    gc.collect()
    gc.freeze()
    try:
        for _ in range(warmup):
            for variant in variants:
                _one_batch(variant, ops)
        result = Measured({variant.name: [] for variant in variants})
        count = len(variants)
        for index in range(rounds):
            best: dict[str, float] = {}
            for repeat in range(repeats):
                shift = (index * repeats + repeat) % count
                for variant in [*variants[shift:], *variants[:shift]]:
                    elapsed = _one_batch(variant, ops)
                    best[variant.name] = min(elapsed, best.get(variant.name, elapsed))
            for name, elapsed in best.items():
                result.per_op[name].append(elapsed)
        return result
    finally:
        gc.unfreeze()


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    timings: str
    value: str
    spread: str
    target: str
    passed: bool | None
    """``None``: a row for information, without a target."""

    @classmethod
    def ratio(
        cls,
        benchmark: str,
        measured: Measured,
        numerator: str,
        denominator: str,
        *,
        limit: float | None,
        strict: bool = False,
        unit: str = "us",
        target: str | None = None,
        note: str = "",
    ) -> Row:
        """A row for ``numerator / denominator`` against ``limit`` (``<=``, or ``<`` when ``strict``).

        ``limit=None`` is a row for information (a peer's figure): target ``-``, no verdict.
        ``target`` replaces the target's text (when the limit is computed, e.g. the best peer's
        ratio); ``note`` is prefixed to the timings (e.g. how many spans the variant stamped).
        """
        ratios = measured.ratios(numerator, denominator)
        value = statistics.median(ratios)
        low, high = quartiles(ratios)
        scale = 1_000.0 if unit == "us" else 1_000_000.0
        timings = note + (
            f"{numerator} {measured.median(numerator) / scale:.2f}{unit} "
            f"(±{measured.spread(numerator):.0%}) vs {denominator} "
            f"{measured.median(denominator) / scale:.2f}{unit} (±{measured.spread(denominator):.0%})"
        )
        if limit is None:
            return cls(benchmark, timings, f"{value:.3f}x", f"{low:.3f}-{high:.3f}", "-", None)
        passed = value < limit if strict else value <= limit
        return cls(
            benchmark,
            timings,
            f"{value:.3f}x",
            f"{low:.3f}-{high:.3f}",
            target or f"{'<' if strict else '<='} {limit:.2f}x",
            passed,
        )


def _verdict(passed: bool | None) -> str:
    return "-" if passed is None else "PASS" if passed else "MISS"


def table(rows: Sequence[Row]) -> str:
    """The results as a fixed-width text table."""
    header = (
        "benchmark",
        "variant timings (median per op, ±IQR/median)",
        "ratio / value",
        "spread p25-p75",
        "target",
        "",
    )
    lines = [header] + [
        (row.benchmark, row.timings, row.value, row.spread, row.target, _verdict(row.passed)) for row in rows
    ]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    rendered = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(rendered)
