"""Benchmark (on demand, not collected): the simulated venue's memory over a long run.

Run: `python tests/bench/bench_sim_market_memory.py [DAYS ...]` (default 30 365)

A venue of seed 3 read every simulated hour as a held trade reads it (the index, the
nearest expiry's chain with four of its rows priced, the positions), alone, without the
service: tracemalloc's current and peak, the instruments the market holds and the index
block ends held. Issue 12: memory flat over a year (the year's figures close to the
month's).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.sim.venue import SimVenue

START = datetime(2026, 3, 2, tzinfo=UTC)


def measure(days: int) -> str:
    tracemalloc.start()
    cpu = time.process_time()
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    for hour in range(days * 24):
        clock.set(START + timedelta(hours=hour, seconds=17))
        for underlying in Underlying:
            venue.index_price(underlying)
            expiry = min(i.expiry for i in venue.instruments(underlying))
            rows = venue.option_chain(underlying, expiry)
            [row.mark for row in rows[len(rows) // 2 - 2: len(rows) // 2 + 2]]
        venue.positions()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    market = venue._market
    return (f"{days} days: tracemalloc current {current / 2**20:.1f} MB, peak "
            f"{peak / 2**20:.1f} MB; instruments held {len(market.held_symbols())}; "
            f"BTC index block ends held {market.paths[Underlying.BTC].blocks_held}; "
            f"CPU {time.process_time() - cpu:.1f} s")


def main() -> None:
    for days in [int(arg) for arg in sys.argv[1:]] or [30, 365]:
        print(measure(days), flush=True)


if __name__ == "__main__":
    main()
