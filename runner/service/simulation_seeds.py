"""`runner simulate --seeds 1-20`: the same book over many market paths (issue 12 item 4).

One simulation per seed, each in its own process (a process pool as wide as the machine,
so both cores of the VPS work), each with its own throw-away store. Every run reports
back only its per-strategy figures; the spread of outcomes is then, per strategy, the
median and the 5th and 95th percentile of net PnL (linear interpolation between the
closest ranks) and the median number of trades and failures.

Processes are started with "spawn", the only way Windows has, so the behaviour is the
same on the trader's VPS and in tests.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from runner.strategy.model import StrategySpec

MAX_SEEDS: Final = 10_000


def parse_seeds(text: str) -> list[int]:
    """ "1-20", "3,5,7", "1-3,9": the seeds in order, each once; ValueError says the fix."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        low, dash, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if dash else first
        except ValueError:
            raise ValueError(f"--seeds {text!r}: {part!r} is not a seed or a range; write"
                             " e.g. 1-20 or 3,5,7") from None
        if first < 0 or last < first:
            raise ValueError(f"--seeds {text!r}: {part!r} must be a range low-high of seeds"
                             " 0 or more, low first (e.g. 1-20)")
        seeds += [s for s in range(first, last + 1) if s not in seeds]
        if len(seeds) > MAX_SEEDS:
            raise ValueError(f"--seeds {text!r}: more than {MAX_SEEDS} runs")
    return seeds


@dataclass(frozen=True, slots=True)
class SeedJob:
    specs: tuple[StrategySpec, ...]
    start: datetime
    duration: timedelta
    tick: timedelta
    seed: int
    faults: Path | None = None


@dataclass(frozen=True, slots=True)
class StrategyRun:
    net_pnl: Decimal
    trades: int
    failed: int


@dataclass(frozen=True, slots=True)
class SeedOutcome:
    seed: int
    strategies: dict[str, StrategyRun]
    wall_seconds: float
    process: int = 0  # the worker's process id

    @property
    def net_pnl(self) -> Decimal:
        return sum((run.net_pnl for run in self.strategies.values()), Decimal(0))

    @property
    def trades(self) -> int:
        return sum(run.trades for run in self.strategies.values())


def run_one_seed(job: SeedJob) -> SeedOutcome:
    """One simulation (in a worker process): its per-strategy figures only."""
    from runner.service.simulation import simulate
    from runner.service.simulation_report import strategy_figures
    from runner.sim.faults import FaultPlan

    began = time.monotonic()
    faults = FaultPlan.load(job.faults, default_seed=job.seed) if job.faults else None
    result = simulate(job.specs, start=job.start, duration=job.duration, seed=job.seed,
                      faults=faults, tick=job.tick)
    figures = strategy_figures(result.trades, result.strategies)
    return SeedOutcome(job.seed, {f.strategy: StrategyRun(f.net_pnl, f.trades, f.failed_count)
                                  for f in figures}, time.monotonic() - began, os.getpid())


def run_seeds(jobs: Sequence[SeedJob], *, workers: int | None = None,
              on_done: Callable[[SeedOutcome], None] | None = None) -> list[SeedOutcome]:
    """Every job in a process pool (as many processes as cores, at most one per job);
    the outcomes in seed order. `on_done` hears each outcome as it arrives."""
    width = max(1, min(len(jobs), workers or os.cpu_count() or 1))
    outcomes = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=width, mp_context=context) as pool:
        for future in as_completed([pool.submit(run_one_seed, job) for job in jobs]):
            outcome = future.result()
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    return sorted(outcomes, key=lambda o: o.seed)


def percentile(values: Sequence[Decimal], pct: float) -> Decimal:
    """The pct-th percentile, interpolating linearly between the closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = Decimal(str(pct)) / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Spread:
    strategy: str
    runs: int
    median: Decimal
    p5: Decimal
    p95: Decimal
    trades_median: Decimal
    trades_low: int
    trades_high: int
    failed_median: Decimal

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "runs": self.runs,
                "net_pnl_usd": {"median": float(self.median), "p5": float(self.p5),
                                "p95": float(self.p95)},
                "trades": {"median": float(self.trades_median), "min": self.trades_low,
                           "max": self.trades_high},
                "failed_median": float(self.failed_median)}


def spreads(outcomes: Sequence[SeedOutcome]) -> list[Spread]:
    """Per strategy (in the order first met), the spread of its outcomes over the seeds."""
    names = list(dict.fromkeys(name for o in outcomes for name in o.strategies))
    return [_spread(name, [o.strategies[name] for o in outcomes if name in o.strategies])
            for name in names]


def _spread(name: str, runs: list[StrategyRun]) -> Spread:
    pnls = [run.net_pnl for run in runs]
    trades = [run.trades for run in runs]
    return Spread(name, len(runs), percentile(pnls, 50), percentile(pnls, 5),
                  percentile(pnls, 95), percentile([Decimal(t) for t in trades], 50),
                  min(trades), max(trades),
                  percentile([Decimal(run.failed) for run in runs], 50))


SPREAD_HEADER: Final = (f"  {'strategy':<28} {'runs':>4} {'median USD':>11} {'p5 USD':>10}"
                        f" {'p95 USD':>10} {'trades (min-max)':>18} {'failed':>7}")


def spread_lines(outcomes: Sequence[SeedOutcome], wall_seconds: float,
                 workers: int) -> list[str]:
    seeds = ", ".join(str(o.seed) for o in outcomes)
    lines = [f"net PnL over {len(outcomes)} market paths (seeds {seeds}; {workers}"
             f" processes, {wall_seconds:.1f} s):", SPREAD_HEADER]
    for s in spreads(outcomes):
        trades = f"{s.trades_median:.1f} ({s.trades_low}-{s.trades_high})"
        lines.append(f"  {s.strategy:<28} {s.runs:>4} {s.median:>11.2f} {s.p5:>10.2f}"
                     f" {s.p95:>10.2f} {trades:>18} {s.failed_median:>7.1f}")
    return lines


def seed_line(outcome: SeedOutcome) -> str:
    return (f"seed {outcome.seed}: net PnL {outcome.net_pnl:.2f} USD, {outcome.trades} trades"
            f" ({outcome.wall_seconds:.1f} s)")


def spread_json(outcomes: Sequence[SeedOutcome]) -> dict[str, Any]:
    return {"seeds": [{"seed": o.seed, "net_pnl_usd": float(o.net_pnl), "trades": o.trades,
                       "process": o.process, "wall_seconds": round(o.wall_seconds, 3),
                       "strategies": {name: {"net_pnl_usd": float(run.net_pnl),
                                             "trades": run.trades, "failed": run.failed}
                                      for name, run in o.strategies.items()}}
                      for o in outcomes],
            "spread": [s.to_json() for s in spreads(outcomes)]}
