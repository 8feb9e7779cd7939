"""Dump (on demand, not collected): everything a run of the example book decided, as text.

Run: `PYTHONPATH=<tree> python tests/bench/dump_book_run.py --days 14 > out.txt` on two
trees and diff the outputs: a change that claims to change no decision must leave the
trades (ids, legs, fills, prices, transitions with times and reasons, failure reasons),
the tick count, the REST calls, the alerts and errors, and the store's rows identical.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runner.service.simulation import simulate
from runner.strategy import load_strategies

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    files = sorted((ROOT / "strategies.d" / "examples").glob("*.yaml"))
    files.append(ROOT / "strategies.d" / "profiles.yaml")
    specs = [replace(s, enabled=True) for s in load_strategies(files).specs]
    out = sys.stdout
    with tempfile.TemporaryDirectory() as scratch:
        state = Path(scratch)
        result = simulate(specs, start=START, duration=timedelta(days=args.days),
                          seed=args.seed, state_dir=state)
        out.write(f"ticks {result.ticks} rest {result.rest_calls} trades {len(result.trades)}\n")
        for trade in result.trades:
            out.write(f"{trade!r}\n")
        for alert in result.alerts:
            out.write(f"alert {alert}\n")
        for error in result.errors:
            out.write(f"error {error}\n")
        for db in sorted(state.rglob("*.db")) + sorted(state.rglob("*.sqlite*")):
            if db.suffix not in (".db", ".sqlite", ".sqlite3"):
                continue
            connection = sqlite3.connect(db)
            for line in connection.iterdump():
                out.write(f"{db.name}: {line}\n")
            connection.close()


if __name__ == "__main__":
    main()
