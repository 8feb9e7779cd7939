"""On-demand figures for the simulated market (not collected by pytest).

Run: python tests/bench/bench_sim_market.py
Prints the cost of one option_chain call per expiry (cold: a new second each call, as the
runner sees it at 5 s ticks; warm: the same second again), of a 48 h catch-up, and of a
runner-like tick (2 underlyings x 2 expiries + account + positions + open orders).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.sim.venue import SimVenue

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _chain_cost(underlying: Underlying, position: int, calls: int = 400) -> tuple[float, float,
                                                                                    int]:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=1)
    expiry = sorted({q.instrument.expiry for q in venue.option_chain(underlying)})[position]
    size = len(venue.option_chain(underlying, expiry))
    started = time.perf_counter()
    for _ in range(calls):
        clock.advance(timedelta(seconds=5))
        venue.option_chain(underlying, expiry)
    cold = (time.perf_counter() - started) / calls
    started = time.perf_counter()
    for _ in range(calls):
        venue.option_chain(underlying, expiry)
    warm = (time.perf_counter() - started) / calls
    return cold, warm, size


def _catch_up_cost(hours: int = 48) -> float:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=1)
    clock.advance(timedelta(hours=hours))
    started = time.perf_counter()
    venue.index_price(Underlying.BTC)
    venue.index_price(Underlying.ETH)
    return time.perf_counter() - started


def _tick_cost(ticks: int = 720) -> float:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=1)
    started = time.perf_counter()
    for _ in range(ticks):
        clock.advance(timedelta(seconds=5))
        for underlying in Underlying:
            venue.index_price(underlying)
            for expiry in _two_expiries(venue, underlying):
                venue.option_chain(underlying, expiry)
        venue.account()
        venue.positions()
        venue.open_orders()
    return (time.perf_counter() - started) / ticks


def _two_expiries(venue: SimVenue, underlying: Underlying) -> list[datetime]:
    expiries = sorted({i.expiry for i in venue.instruments(underlying)})
    return [expiries[0], expiries[4]]


def main() -> None:
    for underlying in Underlying:
        for position in (0, 4, 9):
            cold, warm, size = _chain_cost(underlying, position)
            print(f"option_chain {underlying.value} expiry #{position} ({size} options): "
                  f"cold {cold * 1e3:.2f} ms, warm {warm * 1e6:.0f} us")
    print(f"catch-up 48 h (both underlyings): {_catch_up_cost() * 1e3:.1f} ms")
    per_tick = _tick_cost()
    print(f"runner-like tick (2 underlyings x 2 expiries, account, positions, orders): "
          f"{per_tick * 1e3:.2f} ms -> 48 h at 5 s ticks ~ {per_tick * 34_560:.0f} s")


if __name__ == "__main__":
    main()
