"""Benchmark (on demand, not collected): engine decision time per tick.

Run: `/work/venv/bin/python tests/bench/bench_decide.py [--ticks N]`

Market: the simulated venue's full listing for BTC and ETH (every expiry it lists,
every strike), fetched once into one MarketSnapshot, as the service does per tick.
Strategies: a mix of the shapes the YAML allows (delta strangles, ATM straddles, iron
condors with relative strikes, dte windows, monthly cycles, ETH legs, entry conditions,
every kind of exit). Two cases per strategy count:
- entry: every strategy is due and passes its gates, so each resolves its legs (the
  worst case: what a tick costs when every strategy evaluates entry at once);
- holding: every strategy holds one open trade (entry blocked by max concurrent trades),
  so each tick evaluates all exits, PnL on several bases, greeks and expiry.
Each tick decides on new chain objects over the same quotes (`this_tick`), as the
service reads a new snapshot every tick: indexing the chain, done once per chain on first
use, is part of the time measured. Prints the mean, median and 95th percentile per tick,
in milliseconds (issue 11 item 4: 50 holding strategies under 3 ms a tick), then the mean
of each part, timed apart over new snapshots too: the exits alone (`exit_decisions`), the
entry checks alone (`evaluate_entry`, which pays for the chain's index), and building the
tick's chains (`Chain.of`, which the service does when it reads the snapshot, outside the
decisions and the tick figure). `--cpu` measures CPU time (time.process_time) instead of
wall time, for a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.domain.snapshot import Chain, MarketSnapshot
from runner.engine.decide import decide, evaluate_entry, exit_decisions, new_trade
from runner.engine.state import StrategyState
from runner.sim.venue import SimVenue
from runner.strategy.model import (
    AtmStrike,
    BeforeExpiryExit,
    CycleExpiry,
    DaysWindowExpiry,
    DeltaStrike,
    Direction,
    DteExpiry,
    ExpiryCycle,
    Greek,
    IndexMoveExit,
    LegGreekExit,
    MaxAccountDeltaCondition,
    MaxHoldExit,
    MaxLossPctExit,
    MinAvailableMarginCondition,
    MoveUnit,
    NextExpiry,
    NoExistingPositionCondition,
    OffsetUnit,
    PriceBasis,
    ProfitTargetExit,
    RelativeStrike,
    StrategySpec,
    StructureDeltaExit,
    TimingSpec,
)
from tests.builders import make_leg, make_spec, strangle_legs

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def full_market() -> MarketSnapshot:
    venue = SimVenue(ManualClock(START), seed=11)
    chains, listed = {}, {}
    for underlying in Underlying:
        quotes = venue.option_chain(underlying)
        chains[underlying] = Chain.of(underlying, quotes)
        listed[underlying] = chains[underlying].expiries(START)
    return MarketSnapshot(
        at=START, index_prices={u: venue.index_price(u) for u in Underlying}, chains=chains,
        account=venue.account(), positions=tuple(venue.positions()), open_orders=(),
        listed_expiries=listed)


def _shapes() -> list[StrategySpec]:
    exits = (ProfitTargetExit(Decimal(50), PriceBasis.EXECUTABLE),
             MaxLossPctExit(Decimal(100), PriceBasis.FAIR), StructureDeltaExit(Decimal(5)),
             LegGreekExit(0, Greek.DELTA, Direction.ABOVE, Decimal(5)),
             IndexMoveExit(Decimal(50), MoveUnit.PCT), BeforeExpiryExit(timedelta(hours=1)),
             MaxHoldExit(timedelta(days=30)))
    entry = [MinAvailableMarginCondition(Decimal(10)), MaxAccountDeltaCondition(Decimal(100)),
             NoExistingPositionCondition()]
    condor = (
        make_leg(OptionKind.CALL, Side.SELL, "0.1", DeltaStrike(Decimal("0.2")),
                 DteExpiry(7, 3, 14)),
        make_leg(OptionKind.CALL, Side.BUY, "0.1", RelativeStrike(0, Decimal(2), OffsetUnit.STEPS),
                 DteExpiry(7, 3, 14)),
        make_leg(OptionKind.PUT, Side.SELL, "0.1", DeltaStrike(Decimal("-0.2")),
                 DteExpiry(7, 3, 14)),
        make_leg(OptionKind.PUT, Side.BUY, "0.1", RelativeStrike(2, Decimal(-5), OffsetUnit.PCT),
                 DteExpiry(7, 3, 14)),
    )
    eth = tuple(replace(leg, underlying=Underlying.ETH)
                for leg in strangle_legs("0.1", "-0.1", expiry=CycleExpiry(ExpiryCycle.MONTHLY)))
    shapes = [
        strangle_legs("0.15", "-0.15", qty="0.01"),
        (make_leg(OptionKind.CALL, strike=AtmStrike(), expiry=NextExpiry()),
         make_leg(OptionKind.PUT, strike=AtmStrike(), expiry=NextExpiry())),
        condor,
        strangle_legs("0.05", "-0.05", qty="0.5", expiry=DaysWindowExpiry(20, 60)),
        eth,
    ]
    timing = TimingSpec(check_interval=timedelta(seconds=1), max_trades_per_day=None,
                        max_attempts_per_day=None)
    return [make_spec(name=f"s{i}", legs=legs, entry=entry, exits=exits, timing=timing,
                      underlying=legs[0].underlying)
            for i, legs in enumerate(shapes)]


def strategies(count: int) -> list[StrategySpec]:
    shapes = _shapes()
    return [replace(shapes[i % len(shapes)], name=f"strategy_{i}") for i in range(count)]


def holding_states(specs: list[StrategySpec], market: MarketSnapshot) -> list[StrategyState]:
    states = []
    for spec in specs:
        decision = decide(spec, StrategyState.fresh(START), market, START)
        assert decision.open is not None, decision.blocked_by
        trade = new_trade(spec, decision.open, f"{spec.name}-1", market, START)
        trade = trade.moved_to(trade.stage.OPENING, "bench", START)
        for leg, resolved in zip(trade.legs, decision.open.legs, strict=True):
            price = resolved.quote.mark or Decimal(1)
            trade = trade.with_leg(leg.with_open_fill(leg.qty, price))
        trade = trade.moved_to(trade.stage.OPEN, "bench", START)
        states.append(replace(StrategyState.fresh(START), active_trades=(trade,)))
    return states


Clock = Callable[[], float]


def time_ticks(specs: list[StrategySpec], states: list[StrategyState], market: MarketSnapshot,
               ticks: int, clock: Clock = time.perf_counter,
               step: Callable[..., object] = decide) -> list[float]:
    """Milliseconds per tick for `step` (a whole decision by default) over every strategy."""
    samples = []
    for tick in range(ticks):
        now = START + timedelta(seconds=tick)
        fresh = this_tick(market)  # a new snapshot each tick, as the service reads one
        began = clock()
        for spec, state in zip(specs, states, strict=True):
            step(spec, state, fresh, now)
        samples.append((clock() - began) * 1000)
    return samples


def time_parts(specs: list[StrategySpec], states: list[StrategyState], market: MarketSnapshot,
               ticks: int, clock: Clock) -> str:
    """The mean of each part of a tick, each timed apart (see the module doc)."""
    exits = time_ticks(specs, states, market, ticks, clock, exit_decisions)
    entry = time_ticks(specs, states, market, ticks, clock, evaluate_entry)
    chains = []
    for _ in range(ticks):
        began = clock()
        this_tick(market)
        chains.append((clock() - began) * 1000)
    return (f"{'':<4}parts: exits {statistics.fmean(exits):.3f} ms, entry checks "
            f"{statistics.fmean(entry):.3f} ms; chain build {statistics.fmean(chains):.3f} ms "
            "(outside the tick)")


def this_tick(market: MarketSnapshot) -> MarketSnapshot:
    """The same quotes in new chains: nothing a chain indexes lazily survives the tick, so
    the timing includes indexing the chain once per tick."""
    chains = {u: Chain.of(u, chain.quotes.values()) for u, chain in market.chains.items()}
    return replace(market, chains=chains)


def _line(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return (f"{label:<28} mean {statistics.fmean(samples):8.3f} ms   "
            f"median {statistics.median(samples):8.3f} ms   p95 {p95:8.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=100)
    parser.add_argument("--cpu", action="store_true", help="CPU time instead of wall time")
    args = parser.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    print(f"clock: {'CPU (process_time)' if args.cpu else 'wall (perf_counter)'}")
    market = full_market()
    for underlying, chain in market.chains.items():
        print(f"{underlying.value}: {len(chain.quotes)} options over "
              f"{len(market.listed_expiries[underlying])} expiries")
    for count in (1, 10, 50):
        specs = strategies(count)
        fresh = [StrategyState.fresh(START) for _ in specs]
        print(_line(f"{count:>2} strategies, entry", time_ticks(specs, fresh, market,
                                                                 args.ticks, clock)))
        print(time_parts(specs, fresh, market, args.ticks, clock))
        held = holding_states(specs, market)
        print(_line(f"{count:>2} strategies, holding", time_ticks(specs, held, market,
                                                                   args.ticks, clock)))
        print(time_parts(specs, held, market, args.ticks, clock))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
