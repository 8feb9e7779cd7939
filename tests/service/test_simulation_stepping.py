"""Stepping by events changes no decision (issue 12 item 1).

An accelerated simulation jumps its clock from one moment that matters to the next (a
strategy's check while it can enter or holds exits that read the market, an exit of the
clock, an expiry; every second while orders or RFQs work). These tests run the same book
twice over the same market, once ticking every second as the live loop would and once
stepping by events, and expect the very same trades: the same opens and closes at the
same seconds, the same stage reasons, legs and fill prices. The strategies' own cadence
(their check interval) is the coarse one: whole seconds on the tick grid.

The book is the four examples of strategies.d/examples/ (switched on), and the two shipped
live-test strategies, over short windows around their entries. Windows that must also see
exits use copies whose exit thresholds are tightened so that market and clock exits fire
within the window (the rules and the cadence are the examples' own).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.trades import Trade
from runner.service.simulation import simulate
from runner.service.stepping import Stepping, default_stepping
from runner.sim.faults import FaultPlan
from runner.strategy import load_strategies
from runner.strategy.model import (
    IndexMoveExit,
    MaxHoldExit,
    MaxLossPctExit,
    MoveUnit,
    ProfitTargetExit,
    StrategySpec,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "strategies.d"


def _load(*names: str) -> list[StrategySpec]:
    files = [SHIPPED / name for name in names] + [SHIPPED / "profiles.yaml"]
    return [replace(spec, enabled=True) for spec in load_strategies(files).specs]


def example_book() -> list[StrategySpec]:
    return _load(*(f"examples/{path.name}"
                   for path in sorted((SHIPPED / "examples").glob("*.yaml"))))


def with_tight_exits(spec: StrategySpec) -> StrategySpec:
    """The strategy's own exits behind tight market rules and a short clock rule."""
    tight = (ProfitTargetExit(Decimal(3)), MaxLossPctExit(Decimal(3)),
             IndexMoveExit(Decimal("0.15"), MoveUnit.PCT))
    return replace(spec, exits=(*tight, *spec.exits, MaxHoldExit(timedelta(minutes=20))))


def trade_record(trade: Trade) -> tuple[object, ...]:
    """Everything a trader reads of a trade: stages with their times and reasons, legs,
    fills and the exit reason."""
    legs = tuple((leg.symbol, leg.side, leg.qty, leg.entry_price, leg.exit_price)
                 for leg in trade.legs)
    stages = tuple((step.to_stage, step.at, step.reason) for step in trade.transitions)
    return (trade.trade_id, trade.strategy, trade.stage, trade.exit_reason, legs, stages)


def run_both(specs: list[StrategySpec], start: datetime, minutes: int,
             seed: int = 3) -> tuple[list[tuple[object, ...]], int, int]:
    """The trades (asserted equal) and the ticks of a fine and of an event-stepped run."""
    runs = {stepping: simulate(specs, start=start, duration=timedelta(minutes=minutes),
                               seed=seed, stepping=stepping)
            for stepping in (Stepping.TICKS, Stepping.EVENTS)}
    fine, coarse = runs[Stepping.TICKS], runs[Stepping.EVENTS]
    fine_trades = [trade_record(t) for t in fine.trades]
    assert [trade_record(t) for t in coarse.trades] == fine_trades
    assert coarse.ended_at == fine.ended_at
    return fine_trades, fine.ticks, coarse.ticks


def test_the_shipped_strategies_make_the_same_round_trips_in_a_tenth_of_the_ticks() -> None:
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    trades, fine, coarse = run_both(_load("micro_strangle.yaml", "rfq_endurance.yaml"),
                                    start, 30)
    assert {t[1] for t in trades} == {"micro_strangle", "rfq_endurance"}
    assert len(trades) >= 4
    assert coarse * 10 < fine


def test_the_example_book_opens_the_same_trades_by_limit_and_by_rfq() -> None:
    """Tuesday 13:00: the condor's RFQ window opens while the strangle's limit orders
    work: every second is stepped while either works, the strangle's checks stay on its
    30 s grid while the condor is worked."""
    start = datetime(2026, 3, 3, 12, 58, tzinfo=UTC)
    trades, _, coarse = run_both(example_book(), start, 10)
    assert {t[1] for t in trades} == {"daily_short_strangle", "reverse_iron_condor_rfq"}
    assert coarse < 600


@pytest.mark.parametrize(("start", "strategy", "reason"), [
    (datetime(2026, 3, 2, 8, 14, tzinfo=UTC), "zero_dte_straddle", "index_move"),
    (datetime(2026, 3, 2, 11, 59, tzinfo=UTC), "daily_short_strangle", "max_loss"),
    (datetime(2026, 3, 6, 19, 59, tzinfo=UTC), "weekend_long_strangle", "index_move"),
], ids=["zero_dte_monday", "daily_strangle_monday", "weekend_friday"])
def test_exits_that_read_the_market_close_at_the_same_check(start: datetime, strategy: str,
                                                            reason: str) -> None:
    book = [with_tight_exits(spec) for spec in example_book()]
    trades, fine, coarse = run_both(book, start, 40)
    assert [t[3] for t in trades if t[1] == strategy] == [reason]
    assert coarse * 5 < fine


def test_faults_or_a_check_interval_off_the_tick_grid_keep_the_former_stepping() -> None:
    """A fault plan times failures within a trade's life, and a 2 s tick cannot meet a
    5 s grid: both tick every time while a trade is active, as before issue 12."""
    shipped = _load("micro_strangle.yaml")  # checks every 5 s
    second = timedelta(seconds=1)
    assert default_stepping(shipped, second, None) is Stepping.EVENTS
    assert default_stepping(shipped, second, FaultPlan()) is Stepping.IDLE_JUMPS
    assert default_stepping(shipped, timedelta(seconds=2), None) is Stepping.IDLE_JUMPS
    assert default_stepping(shipped, timedelta(seconds=5), None) is Stepping.EVENTS
