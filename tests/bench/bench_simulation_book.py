"""Benchmark (on demand, not collected): the example book over a month and a year.

Run: `python tests/bench/bench_simulation_book.py [--days 30 365] [--seed 3] [--tick 1s]`

The four strategies of strategies.d/examples/ (switched on) are simulated with seed 3 from
a fixed Monday; for each duration it prints the wall time (and the CPU time: on a shared
machine the wall time also counts other processes), the service's ticks, the trades and
the peak memory (the process's peak resident set; with --trace-memory also
tracemalloc's peak of Python allocations during that run). Issue 12's goals: a year
under 60 s, memory flat over it (the year's peak close to the month's).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runner.service.simulation import simulate
from runner.strategy import load_strategies
from runner.strategy.model import StrategySpec

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def example_book() -> list[StrategySpec]:
    """The four example strategies, enabled (they ship switched off)."""
    files = sorted((ROOT / "strategies.d" / "examples").glob("*.yaml"))
    files.append(ROOT / "strategies.d" / "profiles.yaml")
    return [replace(spec, enabled=True) for spec in load_strategies(files).specs]


def measure(days: float, seed: int, tick: timedelta, *, trace: bool) -> str:
    """One run; with `trace`, tracemalloc's peak too (it slows the run about twofold)."""
    if trace:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = simulate(example_book(), start=START, duration=timedelta(days=days), seed=seed,
                      tick=tick)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    traced = ""
    if trace:
        traced = f", tracemalloc peak {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MB"
        tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (f"{days:g} days, seed {seed}: wall {wall:.1f} s (CPU {cpu:.1f} s), "
            f"{result.ticks} ticks, {len(result.trades)} trades, {result.rest_calls} REST calls, "
            f"process peak RSS {rss_mb:.0f} MB{traced}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, nargs="+", default=[30, 365])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--tick", type=float, default=1.0, help="tick in seconds")
    parser.add_argument("--trace-memory", action="store_true",
                        help="also report tracemalloc's peak (slower)")
    args = parser.parse_args()
    for days in args.days:
        print(measure(days, args.seed, timedelta(seconds=args.tick), trace=args.trace_memory),
              flush=True)


if __name__ == "__main__":
    main()
