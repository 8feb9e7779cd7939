"""Dump the example book's trades from one `simulate` run, to diff two branches (on demand).

Run: `PYTHONPATH=<tree> python tests/bench/dump_book_trades.py --days 14 > trades.txt`,
once per tree, then `diff` the two files: the same decisions print the same lines (every
trade in full: legs, fills, transitions with their times and words), plus the ticks and
REST calls of the run, and the CPU time on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runner.service.simulation import simulate
from runner.strategy import load_strategies
from runner.strategy.model import StrategySpec

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # as bench_simulation_book.py


def example_book(root: Path) -> list[StrategySpec]:
    """The four example strategies of `root`, enabled (as bench_simulation_book.py)."""
    files = sorted((root / "strategies.d" / "examples").glob("*.yaml"))
    files.append(root / "strategies.d" / "profiles.yaml")
    return [replace(spec, enabled=True) for spec in load_strategies(files).specs]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    cpu = time.process_time()
    import runner
    root = Path(runner.__file__).resolve().parents[1]
    print(f"tree {root}", file=sys.stderr)
    result = simulate(example_book(root), start=START, duration=timedelta(days=args.days),
                      seed=args.seed)
    print(f"ticks {result.ticks} rest_calls {result.rest_calls} trades {len(result.trades)}")
    for trade in sorted(result.trades, key=lambda t: t.trade_id):
        print(repr(trade))
    print(f"CPU {time.process_time() - cpu:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
