"""Benchmark (on demand, not collected): the CPU of the service's full ticks alone.

Run: `PYTHONPATH=$PWD python tests/bench/bench_full_tick.py [--days 14] [--profile 40]`
(PYTHONPATH=<another tree> measures that tree's code with the same script.)

Simulates the example book (as bench_simulation_book.py) and counts the CPU time spent
inside `Service.safe_tick` only (not the stepping's probes between ticks), so a change
to what a tick reads, decides and writes shows in its own figure: the run's CPU, the
ticks' CPU and the ms CPU per full tick. With --profile N, cProfile (timed by CPU) runs
inside the ticks only and prints the N costliest functions by own and cumulative time.

Figures (issue 12, full tick; shared 2-core machine, CPU time, base = 25cea05, the two
trees run alternately, 4 pairs): 14 days, 850 full ticks, 2.70-3.46 ms CPU per tick
before, 2.15-2.67 ms after (1.26-1.36x a pair; median tick 2.14 -> 1.62 ms); 30 days,
1678 ticks, 3.13/3.18 -> 2.62/2.58 ms. The single early figure in the commit that made
a row's delta cheap (3.85 -> 2.68 ms) was one unpaired run on a loaded machine.

Issue 12, the tick's cost (branch tickcost2, base 42d0dca; shared 2-core machine, load
5-6, CPU time, the two trees run at the same time, 3 pairs): 30 days, 1678 full ticks,
2.08/2.04/2.00 -> 1.78/1.83/1.72 ms CPU per tick (1.11-1.17x); 90 days, 5283 ticks, 2.20 ->
1.95 ms (run 20.6 -> 19.6 s CPU). SQLite statements inside the 30 days' ticks 26357 ->
18879 (selects 14621 -> 7903, commits 2832 -> 2452). About 4 % of the 30 days' tick CPU
is a one-off: the first open of each strategy checks its file (held_rules.faithful_origin).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.append(str(ROOT))  # after PYTHONPATH: another tree's code can be measured

from runner.service.loop import Service  # noqa: E402
from runner.service.simulation import simulate  # noqa: E402
from runner.strategy import load_strategies  # noqa: E402
from runner.strategy.model import StrategySpec  # noqa: E402

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def example_book() -> list[StrategySpec]:
    """The four example strategies, enabled (as bench_simulation_book.py)."""
    files = sorted((ROOT / "strategies.d" / "examples").glob("*.yaml"))
    files.append(ROOT / "strategies.d" / "profiles.yaml")
    return [replace(spec, enabled=True) for spec in load_strategies(files).specs]


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
    import runner  # which tree was measured

    print(f"{Path(runner.__file__).parents[1]}: {args.days:g} days, seed {args.seed}: "
          f"run CPU {cpu:.2f} s, {ticks} full ticks "
          f"CPU {ticks_cpu:.2f} s ({ticks_cpu / max(ticks, 1) * 1000:.2f} ms CPU per tick), "
          f"{len(result.trades)} trades, {result.rest_calls} REST calls")


if __name__ == "__main__":
    main()
