"""Benchmark (on demand, not collected): the example book's memory curve over a long run.

Run: `PYTHONPATH=<tree> python tests/bench/bench_simulation_memory.py [--days 365]
[--every 30] [--top 10]`

Simulates the four example strategies (as bench_simulation_book.py: seed 3, a fixed
Monday, 1 s tick) under tracemalloc and prints, every `--every` simulated days, the
Python allocations still live after a full garbage collection (tracemalloc's current
size) and the process's resident set then; at the end tracemalloc's and the process's
peaks. Issue 12's goal, memory flat over the year, reads: the live MB late in the run
close to the live MB after the first month (within noise). The final figures include
the run's result (every trade, loaded for the report): output, not a leak.
With `--top N` (which keeps two tracemalloc snapshots, adding to the resident set) it
also prints the N source lines whose live allocations grew most
between the first and the last mark (where a growth comes from).
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import runner
from runner.service.simulation import simulate
from runner.strategy import load_strategies
from runner.strategy.model import StrategySpec

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # as bench_simulation_book.py
_MB = 1e6


def example_book(root: Path) -> list[StrategySpec]:
    """The four example strategies of `root`, enabled (they ship switched off)."""
    files = sorted((root / "strategies.d" / "examples").glob("*.yaml"))
    files.append(root / "strategies.d" / "profiles.yaml")
    return [replace(spec, enabled=True) for spec in load_strategies(files).specs]


def resident_mb() -> float:
    """The process's resident set now (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * resource.getpagesize() / _MB


class Curve:
    """Told after every tick; measures at the first tick of each marked simulated day."""

    def __init__(self, every: int, frames: int) -> None:
        self.every = every
        self.frames = frames
        self.measured: set[int] = set()
        self.snapshots: dict[int, tracemalloc.Snapshot] = {}

    def __call__(self, now: datetime, report: object) -> None:
        del report
        day = (now - START).days
        if day % self.every or day in self.measured:
            return
        self.measured.add(day)
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        print(f"day {day:3d}: live {current / _MB:6.2f} MB after gc, resident "
              f"{resident_mb():6.1f} MB, tracemalloc peak so far {peak / _MB:6.2f} MB",
              flush=True)
        if self.frames:  # the first and the latest only (each costs memory, resident too)
            self.snapshots = {d: s for d, s in self.snapshots.items() if d == min(self.snapshots)}
            self.snapshots[day] = tracemalloc.take_snapshot()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--every", type=int, default=30, help="simulated days between marks")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--top", type=int, default=0, metavar="N",
                        help="print the N lines whose live allocations grew most")
    args = parser.parse_args()
    root = Path(runner.__file__).resolve().parents[1]
    print(f"tree {root}, {args.days:g} days, seed {args.seed}", flush=True)
    curve = Curve(args.every, frames=1 if args.top else 0)
    tracemalloc.start(curve.frames or 1)
    cpu = time.process_time()
    result = simulate(example_book(root), start=START, duration=timedelta(days=args.days),
                      seed=args.seed, progress=curve)
    cpu = time.process_time() - cpu
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"end ({len(result.trades)} trades loaded for the result): live {current / _MB:.2f} MB,"
          f" tracemalloc peak {peak / _MB:.2f} MB, process peak RSS {peak_rss:.0f} MB, "
          f"{result.ticks} ticks, CPU {cpu:.1f} s (under tracemalloc)", flush=True)
    if args.top and len(curve.snapshots) > 1:
        first, last = min(curve.snapshots), max(curve.snapshots)
        print(f"growth from day {first} to day {last}:")
        for stat in curve.snapshots[last].compare_to(curve.snapshots[first], "lineno")[:args.top]:
            print(f"  {stat}")


if __name__ == "__main__":
    main()
