"""Stepping over working orders and RFQs changes no trade, fill, price or time (issue 12).

While orders or RFQs work, a simulation stepping by events no longer ticks every second:
the order probe (service/order_probe.py) finds the next moment anything can change (a
requote, the next phase, a timeout, the first second the venue fills a resting order, an
RFQ's quotes arriving or beating the book) and the clock jumps there. These tests run
the same strategies twice over the same market, once ticking every second as the live
loop does and once stepping by events, over several market paths, and expect the very
same trades: stages with their seconds and reasons, legs, fill prices, exit and failure
reasons, and the same orders (requote rounds per leg).

The strategies are the examples' own, made to work orders for long: the daily strangle
opens with passive-to-aggressive phases and closes with them too (requotes on both sides,
reduce-only closes, partial fills), and the condor asks for an RFQ whose quotes are
judged against the book, falls back to limit phases when none beats it by its minimum
and closes by a short RFQ with a limit fallback. Tight exits make the closes happen
within the window.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.domain.clock import ManualClock
from runner.domain.trades import Trade
from runner.service.simulation import SimulationResult, simulate
from runner.service.stepping import Stepping
from runner.store.store import Store, default_store_path
from runner.strategy import load_strategies
from runner.strategy.model import PhasedLimitExecution, RfqExecution, StrategySpec
from tests.service.test_simulation_stepping import (
    SHIPPED,
    example_book,
    trade_record,
    with_tight_exits,
)

TUESDAY_NOON = datetime(2026, 3, 3, 11, 59, tzinfo=UTC)
TUESDAY_ONE = datetime(2026, 3, 3, 12, 59, tzinfo=UTC)


def _example(name: str) -> StrategySpec:
    return next(spec for spec in example_book() if spec.name == name)


def patient_strangle() -> StrategySpec:
    """The daily strangle, closing with the passive-to-aggressive phases it opens with."""
    spec = with_tight_exits(_example("daily_short_strangle"))
    phased = spec.execution.open
    assert isinstance(phased, PhasedLimitExecution)
    return replace(spec, execution=replace(spec.execution, close=phased))


def condor() -> StrategySpec:
    """The condor by RFQ (its short wings have no bid: no quote can be judged), falling
    back to limit phases; closing by its short RFQ and limit fallback."""
    spec = with_tight_exits(_example("reverse_iron_condor_rfq"))
    rfq = spec.execution.open
    assert isinstance(rfq, RfqExecution)
    phased = _example("daily_short_strangle").execution.open
    assert isinstance(phased, PhasedLimitExecution)
    return replace(spec, execution=replace(spec.execution, open=replace(rfq, fallback=phased)))


STRANGLE_BY_RFQ = """
version: 1
name: strangle_by_rfq
description: A 0.20 delta strangle sold by RFQ with a limit fallback, bought back by RFQ.
enabled: true
underlying: BTC
structure:
  type: strangle
  side: sell
  qty: 0.3
  expiry: {dte: 1, min_dte: 1, max_dte: 2}
  call: {delta: 0.20, tolerance: 0.05}
  put: {delta: -0.20, tolerance: 0.05}
entry:
  - time_window: {start: "12:00", end: "13:00"}
timing:
  check_interval: 30s
  max_trades_per_day: 1
  max_attempts_per_day: 1
execution:
  open: {mode: rfq, timeout: 3m, min_improvement_pct: %s, fallback: %s}
  close: {profile: rfq_fast_close}
exits:
  - profit_target: {pct: 3}
  - max_loss: {pct: 3}
  - max_hold: 20m
risk:
  max_notional_per_trade_usd: 100000
  max_notional_per_strategy_usd: 100000
"""


def strangle_by_rfq(folder: Path, min_improvement_pct: str,
                    fallback: str = "{profile: passive_to_aggressive}") -> StrategySpec:
    path = folder / "strangle_by_rfq.yaml"
    path.write_text(STRANGLE_BY_RFQ % (min_improvement_pct, fallback), encoding="utf-8")
    (spec,) = load_strategies([path, SHIPPED / "profiles.yaml"]).specs
    return spec


def record(trade: Trade) -> tuple[object, ...]:
    return (*trade_record(trade), trade.failure_reason,
            tuple((leg.filled_qty, leg.closed_qty, leg.fees) for leg in trade.legs))


def run_fine_and_coarse(spec: StrategySpec, start: datetime, minutes: int,
                        seed: int) -> tuple[SimulationResult, SimulationResult]:
    runs = [simulate([spec], start=start, duration=timedelta(minutes=minutes), seed=seed,
                     stepping=stepping) for stepping in (Stepping.TICKS, Stepping.EVENTS)]
    fine, coarse = runs
    assert [record(t) for t in coarse.trades] == [record(t) for t in fine.trades]
    assert coarse.requotes == fine.requotes
    assert coarse.ended_at == fine.ended_at
    return fine, coarse


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_limit_orders_requoted_through_phases_open_and_close_at_the_same_seconds(
        seed: int) -> None:
    fine, coarse = run_fine_and_coarse(patient_strangle(), TUESDAY_NOON, 30, seed)
    (trade,) = fine.trades
    assert trade.stage.is_terminal
    assert trade.opened_at is not None
    assert sum(fine.requotes.values()) >= 1  # opening orders were cancelled and placed again
    assert coarse.ticks * 10 < fine.ticks


@pytest.mark.parametrize(("seed", "min_improvement_pct"), [
    (1, "0"), (2, "0"), (3, "0"), (1, "0.5"), (2, "0.5"), (3, "0.5")])
def test_rfqs_judged_against_the_book_and_their_limit_fallbacks_give_the_same_trades(
        tmp_path: Path, seed: int, min_improvement_pct: str) -> None:
    """Asking 0 %, a quote is accepted at the first second it beats the book; asking
    0.5 %, none does within 3 minutes and limit phases sell the strangle. The close asks
    a 30 s RFQ, then aggressive limit orders."""
    spec = strangle_by_rfq(tmp_path, min_improvement_pct)
    fine, coarse = run_fine_and_coarse(spec, TUESDAY_NOON, 30, seed)
    (trade,) = fine.trades
    assert trade.stage.is_terminal
    assert trade.opened_at is not None
    opened_by_rfq = any("rfq filled" in step.reason for step in trade.transitions[:3])
    assert opened_by_rfq is (min_improvement_pct == "0")
    assert coarse.ticks * 10 < fine.ticks


def test_an_rfq_whose_book_lacks_a_side_falls_back_to_limit_phases_at_the_same_second(
        ) -> None:
    fine, coarse = run_fine_and_coarse(condor(), TUESDAY_ONE, 15, seed=2)
    (trade,) = fine.trades
    assert (trade.failure_reason or "").startswith("entry orders not filled within 5m")
    assert coarse.ticks * 10 < fine.ticks


@pytest.mark.parametrize("seed", [5, 9])  # the best quote is seen between other events
def test_an_rfq_without_fallback_fails_with_the_same_best_quote_in_its_reason(
        tmp_path: Path, seed: int) -> None:
    """The failure reason names the best improvement any quote offered over the whole
    timeout: the coarse run steps to the second it was seen."""
    spec = strangle_by_rfq(tmp_path, "0.5", fallback="none")
    fine, coarse = run_fine_and_coarse(spec, TUESDAY_NOON, 5, seed)
    (trade,) = fine.trades
    assert "no quote beat the book by 0.5 % within 3m: best quote" in (
        trade.failure_reason or "")
    assert coarse.ticks * 10 < fine.ticks


WINGS = """
version: 1
name: lottery_wings
description: Far out-of-the-money wings of the expiring day, sold back before expiry.
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.1
  expiry: {next: true}
  call: {delta: 0.08, tolerance: 0.05}
  put: {delta: -0.08, tolerance: 0.05}
entry:
  - time_window: {start: "06:00", end: "06:10"}
timing:
  check_interval: 30s
  max_trades_per_day: 1
  max_attempts_per_day: 1
execution:
  open: {profile: aggressive_limit}
exits:
  - time_of_day: "%s"
risk:
  max_notional_per_trade_usd: 100000
  max_notional_per_strategy_usd: 100000
"""
TUESDAY_DAWN = datetime(2026, 3, 3, 5, 59, tzinfo=UTC)


def wings(folder: Path, close_at: str) -> StrategySpec:
    path = folder / "lottery_wings.yaml"
    path.write_text(WINGS % close_at, encoding="utf-8")
    (spec,) = load_strategies([path, SHIPPED / "profiles.yaml"]).specs
    return spec


def orders_sent(result: SimulationResult, state_dir: Path) -> list[tuple[object, ...]]:
    store = Store.open(default_store_path(state_dir), ManualClock(result.started_at))
    try:
        return [(order.key.client_order_id, order.created_at, order.request.price,
                 order.request.qty, order.filled_qty)
                for trade in result.trades for order in store.orders_for_trade(trade.trade_id)]
    finally:
        store.close()


def wings_fine_and_coarse(tmp_path: Path, close_at: str, seed: int, minutes: int
                          ) -> tuple[SimulationResult, SimulationResult, list[tuple[object, ...]]]:
    """The wings run every second and by events from Tuesday's dawn: the same trades and
    the same orders (asserted); returns both runs and the orders sent."""
    spec = wings(tmp_path, close_at)
    runs = {stepping: simulate([spec], start=TUESDAY_DAWN, duration=timedelta(minutes=minutes),
                               seed=seed, stepping=stepping, state_dir=tmp_path / stepping)
            for stepping in (Stepping.TICKS, Stepping.EVENTS)}
    fine, coarse = runs[Stepping.TICKS], runs[Stepping.EVENTS]
    assert [record(t) for t in coarse.trades] == [record(t) for t in fine.trades]
    sent = orders_sent(fine, tmp_path / Stepping.TICKS)
    assert orders_sent(coarse, tmp_path / Stepping.EVENTS) == sent
    return fine, coarse, sent


@pytest.mark.parametrize(("close_at", "seed", "placed_again"), [
    ("07:10", 5, True),   # the bid comes back at 07:36:39: the leg is sold that second
    ("07:30", 1, False),  # no bid until the 08:00 expiry settles the leg
])
def test_a_close_leg_without_a_bid_is_sold_at_the_first_second_it_has_one(
        tmp_path: Path, close_at: str, seed: int, placed_again: bool) -> None:
    """B6: a close places what it can price and retries a leg without a bid every tick,
    until expiry if need be. A coarse run steps over the seconds at which the leg still
    has no bid, and not over the one at which it gets one: the same orders, at the same
    seconds and prices, and the same trade."""
    fine, coarse, sent = wings_fine_and_coarse(tmp_path, close_at, seed, 125)
    (trade,) = fine.trades
    reasons = [step.reason for step in trade.transitions]
    assert any("used its budget" in reason for reason in reasons)  # the leg had no bid
    assert ("settled at intrinsic value" in reasons[-1]) is not placed_again
    assert (len(sent) > 3) is placed_again  # two opening orders, the first close order
    assert coarse.ticks * 20 < fine.ticks
