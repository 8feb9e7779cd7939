"""Benchmark (on demand, not collected): the whole service over the simulator.

Run: `python tests/bench/bench_service.py [--hours 48] [--seed 1]`

Prints:
1. exchange calls per tick as the number of strategies grows (1, 10, 50 copies of
   micro_strangle whose entry conditions never pass, so every strategy is evaluated every
   tick against the shared snapshot): must stay flat (design decision 2);
2. the same with every copy trading (calls then grow with the orders, not the strategies);
3. wall time and resident memory to simulate --hours of both live strategies
   (strategies.d/micro_strangle.yaml and rfq_endurance.yaml) with a 1 s tick.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runner.domain.clock import ManualClock
from runner.service.runtime import assemble
from runner.service.settings import Environment, Settings
from runner.service.simulation import simulate
from runner.sim.venue import SimVenue
from runner.strategy import load_strategies
from runner.strategy.model import AllOf, MinEquityCondition, StrategySpec
from tests.cli_helpers import RecordingExchange

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def live_specs() -> list[StrategySpec]:
    files = [ROOT / "strategies.d" / name for name in
             ("micro_strangle.yaml", "rfq_endurance.yaml", "profiles.yaml")]
    return [spec for spec in load_strategies(files).specs if spec.enabled]


def copies(base: StrategySpec, count: int, *, blocked: bool) -> list[StrategySpec]:
    entry = AllOf((MinEquityCondition(Decimal(10) ** 12),)) if blocked else base.entry
    return [replace(base, name=f"{base.name}_{n}", entry=entry) for n in range(count)]


def calls_per_tick(specs: list[StrategySpec], ticks: int) -> tuple[float, dict[str, float]]:
    clock = ManualClock(START)
    exchange = RecordingExchange(SimVenue(clock, seed=1))
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(environment=Environment.PAPER, base_url=None, api_key=None,
                            api_secret=None, log_dir=Path(scratch) / "logs",
                            state_dir=Path(scratch))
        runtime = assemble(settings, specs, clock=clock, exchange=exchange, launch=START)
        exchange.calls.clear()
        for _ in range(ticks):
            runtime.service.safe_tick()
            clock.advance(timedelta(seconds=1))
        runtime.store.close()
    counted = Counter(exchange.calls)
    return len(exchange.calls) / ticks, {k: v / ticks for k, v in sorted(counted.items())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=48)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ticks", type=int, default=120)
    args = parser.parse_args()
    micro = next(s for s in live_specs() if s.name == "micro_strangle")

    print("exchange calls per tick (strategies evaluated every tick, entry blocked)")
    for count in (1, 10, 50):
        per_tick, detail = calls_per_tick(copies(micro, count, blocked=True), args.ticks)
        print(f"  {count:3d} strategies: {per_tick:5.2f} calls/tick  {detail}")
    print("exchange calls per tick (every strategy trading)")
    for count in (1, 10, 50):
        per_tick, _ = calls_per_tick(copies(micro, count, blocked=False), args.ticks)
        print(f"  {count:3d} strategies: {per_tick:5.2f} calls/tick")

    started = time.perf_counter()
    result = simulate(live_specs(), start=START, duration=timedelta(hours=args.hours),
                      seed=args.seed, tick=timedelta(seconds=1))
    wall = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"simulated {args.hours:g} h of micro_strangle + rfq_endurance: wall {wall:.2f} s, "
          f"{result.ticks} ticks, {len(result.trades)} trades, peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
