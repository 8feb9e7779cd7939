"""`runner simulate`: one run with its summary and report, or `--seeds` runs and their spread.

One run prints the summary (per-trade net PnL and why each ended, the per-strategy
table) and, with `--report FILE`, writes the JSON report and the equity curve beside it
(`FILE` with `.equity.csv` for its suffix). On a terminal a progress line shows the
simulated time reached, the trades finished and their PnL so far; piped, nothing extra.

`--seeds 1-20` runs the same book once per seed in a process pool and prints, per
strategy, the median, 5th and 95th percentile of net PnL and the trades; `--report`
then holds every seed's figures and the spread.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runner.strategy.model import StrategySpec

USAGE_ERROR = 2


def simulate_command(args: argparse.Namespace) -> int:
    from runner.service.simulation_seeds import parse_seeds
    from runner.strategy.convert import duration as parse_duration
    from runner.strategy.fileset import runnable_specs

    specs = runnable_specs(args.files, "simulate")  # named files that cannot run: exit 2
    if specs is None:
        return USAGE_ERROR
    try:
        duration = parse_duration(args.duration)
        tick = parse_duration(args.tick)
        start = (datetime.fromisoformat(args.start.replace("Z", "+00:00"))
                 if args.start else datetime.now(UTC).replace(microsecond=0))
        seeds = parse_seeds(args.seeds) if getattr(args, "seeds", None) else None
    except (ValueError, OSError) as error:
        print(f"runner simulate: {error}", file=sys.stderr)
        return USAGE_ERROR
    if start.tzinfo is None:
        print("runner simulate: --start must be UTC, e.g. 2026-03-02T10:00:00Z", file=sys.stderr)
        return USAGE_ERROR
    if duration is None or tick is None:  # both have defaults; an empty text is refused
        print("runner simulate: --duration and --tick need a value, e.g. 7d and 1s",
              file=sys.stderr)
        return USAGE_ERROR
    if seeds is not None:
        return _many(args, list(specs), start, duration, tick, seeds)
    return _one(args, list(specs), start, duration, tick)


def _one(args: argparse.Namespace, specs: list[StrategySpec], start: datetime,
         duration: timedelta, tick: timedelta) -> int:
    from runner.cli.simulation_progress import progress_for
    from runner.cli.summary import print_simulation_summary
    from runner.service.simulation import simulate
    from runner.service.simulation_report import equity_csv, report_json
    from runner.service.stepping import Stepping
    from runner.sim.faults import FaultPlan

    try:
        faults = FaultPlan.load(args.faults, default_seed=args.seed) if args.faults else None
    except (ValueError, OSError) as error:
        print(f"runner simulate: {error}", file=sys.stderr)
        return USAGE_ERROR
    progress = progress_for(sys.stdout, start, start + duration)
    try:
        result = simulate(specs, start=start, duration=duration, seed=args.seed,
                          faults=faults, tick=tick, progress=progress,
                          stepping=Stepping.TICKS if getattr(args, "every_tick", False) else None)
    finally:
        if progress is not None:
            progress.close()
    print_simulation_summary(result)
    if args.report:
        _write(args.report, json.dumps(report_json(result), indent=2) + "\n")
        curve = equity_path(args.report)
        _write(curve, equity_csv(result))
        print(f"report written to {args.report}, equity curve to {curve}")
    return 0


def _many(args: argparse.Namespace, specs: list[StrategySpec], start: datetime,
          duration: timedelta, tick: timedelta, seeds: list[int]) -> int:
    from runner.service.simulation_seeds import (
        SeedJob,
        run_seeds,
        seed_line,
        spread_json,
        spread_lines,
    )

    if args.faults is not None and not args.faults.is_file():
        print(f"runner simulate: --faults {args.faults}: no such file", file=sys.stderr)
        return USAGE_ERROR
    jobs = [SeedJob(tuple(specs), start, duration, tick, seed, args.faults) for seed in seeds]
    began = time.monotonic()
    workers = _workers(len(jobs))
    print(f"simulating {len(jobs)} market paths over {args.duration} in {workers} processes",
          flush=True)
    outcomes = run_seeds(jobs, workers=workers,
                         on_done=lambda outcome: print(seed_line(outcome), flush=True))
    for line in spread_lines(outcomes, time.monotonic() - began, workers):
        print(line)
    if args.report:
        report: dict[str, Any] = {"started_at": start.isoformat().replace("+00:00", "Z"),
                                  "duration": args.duration, **spread_json(outcomes)}
        _write(args.report, json.dumps(report, indent=2) + "\n")
        print(f"report written to {args.report}")
    return 0


def _workers(jobs: int) -> int:
    import os

    return max(1, min(jobs, os.cpu_count() or 1))


def equity_path(report: Path) -> Path:
    """Beside the JSON report: `run.json` -> `run.equity.csv`."""
    return report.with_name(f"{report.stem}.equity.csv")


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
