"""Benchmark (on demand, not collected): the CPU of the service's full ticks alone.

Run: `PYTHONPATH=$PWD python tests/bench/bench_full_tick.py [--days 14] [--profile 40]`

Simulates the example book (as bench_simulation_book.py) and counts the CPU time spent
inside `Service.safe_tick` only (not the stepping's probes between ticks), so a change
to what a tick reads, decides and writes shows in its own figure: the run's CPU, the
ticks' CPU and the ms CPU per full tick. With --profile N, cProfile (timed by CPU) runs
inside the ticks only and prints the N costliest functions by own and cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runner.service.loop import Service
from runner.service.simulation import simulate
from tests.bench.bench_simulation_book import START, example_book


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    spent = [0.0, 0]
    plain = Service.safe_tick

    def timed(self: Service):  # type: ignore[no-untyped-def]
        started = time.process_time()
        if profiler is not None:
            profiler.enable()
        try:
            return plain(self)
        finally:
            if profiler is not None:
                profiler.disable()
            spent[0] += time.process_time() - started
            spent[1] += 1

    Service.safe_tick = timed  # type: ignore[method-assign]
    specs = example_book()
    cpu_started = time.process_time()
    result = simulate(specs, start=START, duration=timedelta(days=args.days), seed=args.seed)
    cpu = time.process_time() - cpu_started
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(args.profile)
        stats.sort_stats("cumtime").print_stats(args.profile)
    ticks_cpu, ticks = spent
    print(f"{args.days:g} days, seed {args.seed}: run CPU {cpu:.2f} s, {ticks} full ticks "
          f"CPU {ticks_cpu:.2f} s ({ticks_cpu / max(ticks, 1) * 1000:.2f} ms CPU per tick), "
          f"{len(result.trades)} trades, {result.rest_calls} REST calls")


if __name__ == "__main__":
    main()
