"""Benchmark (on demand, not collected): the example book over a month and a year.

Run: `python tests/bench/bench_simulation_book.py [--days 30 365] [--seed 3] [--tick 1s]
[--profile 40]`

The four strategies of strategies.d/examples/ (switched on) are simulated with seed 3 from
a fixed Monday; for each duration it prints the wall time (and the CPU time: on a shared
machine the wall time also counts other processes), the service's ticks, the trades and
the peak memory (the process's peak resident set; with --trace-memory also
tracemalloc's peak of Python allocations during that run), and the CPU time per tick.
With --profile N it runs under cProfile and prints the N costliest functions by own
time and by cumulative time (where a tick's time goes). Issue 12's goals: a year under
60 s, memory flat over it (the year's peak close to the month's).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
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


def measure(days: float, seed: int, tick: timedelta, *, trace: bool, profile: int = 0) -> str:
    """One run; with `trace`, tracemalloc's peak too (it slows the run about twofold);
    with `profile`, the costliest functions under cProfile (slower still)."""
    if trace:
        tracemalloc.start()
    profiler = cProfile.Profile() if profile else None
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    result = simulate(example_book(), start=START, duration=timedelta(days=days), seed=seed,
                      tick=tick)
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    traced = ""
    if trace:
        traced = f", tracemalloc peak {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MB"
        tracemalloc.stop()
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(profile)
        stats.sort_stats("cumtime").print_stats(profile)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_tick = cpu / result.ticks * 1000 if result.ticks else 0.0
    return (f"{days:g} days, seed {seed}: wall {wall:.1f} s (CPU {cpu:.1f} s), "
            f"{result.ticks} ticks ({per_tick:.2f} ms CPU per tick), {len(result.trades)} trades, "
            f"{result.rest_calls} REST calls, process peak RSS {rss_mb:.0f} MB{traced}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, nargs="+", default=[30, 365])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--tick", type=float, default=1.0, help="tick in seconds")
    parser.add_argument("--trace-memory", action="store_true",
                        help="also report tracemalloc's peak (slower)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="run under cProfile; print the N costliest functions")
    args = parser.parse_args()
    for days in args.days:
        print(measure(days, args.seed, timedelta(seconds=args.tick), trace=args.trace_memory,
                      profile=args.profile), flush=True)


if __name__ == "__main__":
    main()
