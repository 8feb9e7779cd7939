"""The service books expired trades at the exchange's delivery price (G2), not a tick's index.

The real service (runtime.assemble) over the simulator, ticking on odd seconds so no
tick lands on 08:00:00: the booked exit prices are the intrinsic values against the
venue's published delivery price, and realised PnL net of fees, the exercise fee read from
the venue's exercise history included, equals the venue's cash change (E6, issue 8 #12).
While the price or an in-the-money leg's fee is not published the trade is left as it is
and settled on a later tick; a fee never published is booked without after a bound.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.domain.clock import ManualClock
from runner.domain.exercise import Exercise
from runner.domain.instruments import Underlying, parse_symbol
from runner.domain.trades import Trade, TradeStage
from runner.reconcile.settlement import EXERCISE_FEE_WAIT, intrinsic_value
from runner.service.alerts import LogAlerter
from runner.service.runtime import assemble
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.venue import SimVenue
from tests.scenarios.helpers_scenarios import (
    Pager,
    Recorder,
    Scenario,
    paper_settings,
    strategy_from_yaml,
)

START = datetime(2026, 3, 2, 7, 50, 1, tzinfo=UTC)
EXPIRY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TICK = timedelta(seconds=7)  # 07:50:01 + 86 x 7 s = 08:00:03, the first tick after

LONG_STRANGLE = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                call: {delta: 0.3}, put: {delta: -0.3}}
    timing: {check_interval: 5s, max_trades_per_day: 1}
    execution: {open: {profile: aggressive_limit}, close: {profile: aggressive_limit}}
    exits:
      - max_hold: 2h
    """

SHORT_ITM_PUT = """
    enabled: true
    underlying: BTC
    legs:
      - {option: put, side: sell, qty: 0.01, expiry: {next: true},
         strike: {spot_distance_pct: 3}}
    timing: {check_interval: 5s, max_trades_per_day: 1}
    execution: {open: {profile: aggressive_limit}, close: {profile: aggressive_limit}}
    exits:
      - max_hold: 2h
    """


class LateDelivery:
    """The venue, except that its delivery prices reach us only from `published_at` on."""

    def __init__(self, venue: SimVenue, clock: ManualClock, published_at: datetime) -> None:
        self._venue = venue
        self._clock = clock
        self.published_at = published_at
        self.asked: list[datetime] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)

    def delivery_price(self, underlying: Underlying, expiry: datetime) -> Decimal | None:
        self.asked.append(self._clock.now())
        if self._clock.now() < self.published_at:
            return None
        return self._venue.delivery_price(underlying, expiry)


def _scenario(tmp_path: Path, body: str, *, late_until: datetime | None = None,
              faults: FaultPlan | None = None) -> Scenario:
    if late_until is None:
        return Scenario.start(tmp_path, [strategy_from_yaml(tmp_path, "held", body)],
                              at=START, faults=faults)
    spec = strategy_from_yaml(tmp_path, "held", body)
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=7)
    exchange = LateDelivery(venue, clock, late_until)
    settings = paper_settings(tmp_path / "state")
    recorder, pager = Recorder(), Pager()
    runtime = assemble(settings, [spec], clock=clock, exchange=exchange, launch=START,
                       listener=recorder.listen, alerter=LogAlerter(clock, sinks=(pager,)))
    recorder.runtime = runtime
    return Scenario(clock, venue, exchange, settings, [spec], START, runtime, recorder, pager)


def _delivery(scenario: Scenario) -> Decimal:
    price = scenario.venue.delivery_price(Underlying.BTC, EXPIRY)
    assert price is not None
    return price


def _assert_booked_at_delivery(trade: Trade, delivery: Decimal) -> None:
    for leg in trade.legs:
        assert leg.exit_price == intrinsic_value(parse_symbol(leg.symbol), delivery), leg.symbol


def _exercise_fees(scenario: Scenario, trade: Trade) -> Decimal:
    symbols = {leg.symbol for leg in trade.legs}
    return sum((e.fee for e in scenario.venue.exercise_records() if e.symbol in symbols),
               Decimal(0))


def test_off_grid_ticks_book_the_delivery_price_and_pnl_matches_the_venues_cash(tmp_path):
    """G2, E6: exit == intrinsic vs the delivery price; net PnL == the venue's cash change,
    exercise fee included."""
    scenario = _scenario(tmp_path, LONG_STRANGLE)
    cash_before = scenario.venue.cash()
    scenario.run_until(EXPIRY + timedelta(minutes=1), TICK)
    (trade,) = scenario.trades()
    assert trade.stage is TradeStage.CLOSED
    assert trade.exit_reason == "expiry"
    assert trade.closed_at == EXPIRY + timedelta(seconds=3)  # no tick at 08:00:00
    delivery = _delivery(scenario)
    _assert_booked_at_delivery(trade, delivery)
    assert any(leg.exit_price > 0 for leg in trade.legs)
    cash_change = scenario.venue.cash() - cash_before
    net = trade.realized_pnl() - trade.fees()
    assert _exercise_fees(scenario, trade) > 0  # the in-the-money leg was charged one
    assert net == cash_change  # the exercise fee is booked with the settlement
    scenario.close()


def test_an_itm_short_put_held_through_expiry_books_its_intrinsic_loss(tmp_path):
    """G2: a short put that expired in the money is a loss, not a full premium win."""
    scenario = _scenario(tmp_path, SHORT_ITM_PUT)
    scenario.run_until(EXPIRY + timedelta(minutes=1), TICK)
    (trade,) = scenario.trades()
    assert trade.stage is TradeStage.CLOSED
    (put,) = trade.legs
    delivery = _delivery(scenario)
    assert parse_symbol(put.symbol).strike > delivery  # it finished in the money
    _assert_booked_at_delivery(trade, delivery)
    assert put.exit_price > 0
    assert put.entry_price is not None
    assert trade.realized_pnl() == (put.entry_price - put.exit_price) * put.closed_qty
    assert trade.realized_pnl() < put.entry_price * put.closed_qty  # not the whole premium
    scenario.close()


def test_before_the_price_is_published_the_trade_waits_and_is_settled_later(tmp_path):
    """G2: no delivery price yet -> the trade is left OPEN, no order, settled once published."""
    published = EXPIRY + timedelta(seconds=40)
    scenario = _scenario(tmp_path, LONG_STRANGLE, late_until=published)
    scenario.run_until(published - timedelta(seconds=1), TICK)
    (waiting,) = scenario.trades()
    assert waiting.stage is TradeStage.OPEN
    assert all(leg.exit_price is None and leg.open_qty > 0 for leg in waiting.legs)
    asked_after_expiry = [at for at in scenario.exchange.asked if at >= EXPIRY]
    assert len(asked_after_expiry) >= 2  # asked again on each tick, once per tick
    assert len(asked_after_expiry) == len(set(asked_after_expiry))
    assert all(order.created_at < EXPIRY for order in scenario.orders_of(waiting.trade_id))
    scenario.run_until(published + timedelta(seconds=30), TICK)
    (settled,) = scenario.trades()
    assert settled.stage is TradeStage.CLOSED
    assert settled.closed_at is not None
    assert settled.closed_at >= published
    _assert_booked_at_delivery(settled, _delivery(scenario))
    assert scenario.strategy_errors() == []
    scenario.close()


def test_a_failed_delivery_price_read_defers_the_settlement_to_a_later_tick(tmp_path):
    plan = FaultPlan.of(FaultRule("delivery_price", FaultKind.HTTP_5XX, count=2))
    scenario = _scenario(tmp_path, LONG_STRANGLE, faults=plan)
    scenario.run_until(EXPIRY + timedelta(minutes=1), TICK)
    (trade,) = scenario.trades()
    assert plan.fired() == [2]
    assert trade.stage is TradeStage.CLOSED
    assert trade.closed_at == EXPIRY + timedelta(seconds=3 + 2 * 7)
    _assert_booked_at_delivery(trade, _delivery(scenario))
    deferred = [data for kind, data in scenario.events if kind == "settlement_deferred"]
    assert len(deferred) == 2
    assert scenario.strategy_errors() == []
    scenario.close()


# -- the exercise fee (E6, issue 8 #12) ------------------------------------------------------
class LateExercises:
    """The venue, except that its exercise history shows rows only from `published_at` on."""

    def __init__(self, venue: SimVenue, clock: ManualClock, published_at: datetime) -> None:
        self._venue = venue
        self._clock = clock
        self.published_at = published_at
        self.asked: list[datetime] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)

    def exercises(self, since: datetime) -> list[Exercise]:
        self.asked.append(self._clock.now())
        return self._venue.exercises(since) if self._clock.now() >= self.published_at else []


def _late_fee_scenario(tmp_path: Path, published_at: datetime) -> Scenario:
    spec = strategy_from_yaml(tmp_path, "held", SHORT_ITM_PUT)
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=7)
    exchange = LateExercises(venue, clock, published_at)
    settings = paper_settings(tmp_path / "state")
    recorder, pager = Recorder(), Pager()
    runtime = assemble(settings, [spec], clock=clock, exchange=exchange, launch=START,
                       listener=recorder.listen, alerter=LogAlerter(clock, sinks=(pager,)))
    recorder.runtime = runtime
    return Scenario(clock, venue, exchange, settings, [spec], START, runtime, recorder, pager)


def test_an_itm_leg_waits_for_its_exercise_fee_and_books_it_once_published(tmp_path):
    published = EXPIRY + timedelta(minutes=2)
    scenario = _late_fee_scenario(tmp_path, published)
    cash_before = scenario.venue.cash()
    scenario.run_until(published - timedelta(seconds=1), TICK)
    (waiting,) = scenario.trades()
    assert waiting.stage is TradeStage.OPEN  # the price is known, the fee not yet
    assert len([at for at in scenario.exchange.asked if at >= EXPIRY]) >= 2
    scenario.run_until(published + timedelta(seconds=30), TICK)
    (settled,) = scenario.trades()
    assert settled.stage is TradeStage.CLOSED
    assert settled.closed_at is not None
    assert settled.closed_at >= published
    (put,) = settled.legs
    fee = _exercise_fees(scenario, settled)
    assert fee > 0
    assert settled.realized_pnl() - settled.fees() == scenario.venue.cash() - cash_before
    assert "without" not in settled.transitions[-1].reason
    assert put.fees > fee  # the opening trade fee and the exercise fee
    scenario.close()


def test_a_fee_never_published_is_booked_without_it_after_the_bound_and_says_so(tmp_path):
    scenario = _late_fee_scenario(tmp_path, EXPIRY + timedelta(days=30))
    scenario.run_until(EXPIRY + EXERCISE_FEE_WAIT - timedelta(seconds=10), TICK)
    assert scenario.trades()[0].stage is TradeStage.OPEN
    scenario.run_until(EXPIRY + EXERCISE_FEE_WAIT + timedelta(seconds=10), TICK)
    (settled,) = scenario.trades()
    assert settled.stage is TradeStage.CLOSED
    assert settled.closed_at is not None
    assert settled.closed_at >= EXPIRY + EXERCISE_FEE_WAIT
    _assert_booked_at_delivery(settled, _delivery(scenario))
    reason = settled.transitions[-1].reason
    assert "exercise fee of " + settled.legs[0].symbol in reason
    assert "booked without it" in reason
    scenario.close()


def test_a_failed_exercise_history_read_defers_the_settlement_to_a_later_tick(tmp_path):
    plan = FaultPlan.of(FaultRule("exercises", FaultKind.HTTP_5XX, count=2))
    scenario = _scenario(tmp_path, SHORT_ITM_PUT, faults=plan)
    cash_before = scenario.venue.cash()
    scenario.run_until(EXPIRY + timedelta(minutes=1), TICK)
    (trade,) = scenario.trades()
    assert plan.fired() == [2]
    assert trade.stage is TradeStage.CLOSED
    assert trade.closed_at == EXPIRY + timedelta(seconds=3 + 2 * 7)
    assert trade.realized_pnl() - trade.fees() == scenario.venue.cash() - cash_before
    scenario.close()
