"""settle_trade: expired legs booked at intrinsic value against the delivery price (G1, G2).

Pure: the delivery prices are handed in per (underlying, expiry), and the exercise history
(each settled position with the fee charged, E6), as the service reads them from the
exchange. A missing price leaves the whole trade as it is; so does a missing fee for a leg
that expired in the money, until EXERCISE_FEE_WAIT after the expiry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock
from runner.domain.exercise import Exercise
from runner.domain.instruments import Underlying
from runner.domain.trades import TradeStage
from runner.exchange.errors import ExchangeUnavailable
from runner.reconcile import settle_expired
from runner.reconcile.settlement import (
    EXERCISE_FEE_WAIT,
    expired_series,
    needs_exercise_history,
    read_exercises,
    settle_trade,
    settlement_price_from,
)
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.faulty import FaultyExchange
from runner.sim.venue import SimVenue
from tests.builders import make_trade

EXPIRY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
AFTER = EXPIRY + timedelta(seconds=1)
CALL = "BTCUSD-2MAR26-70000-C"
PUT = "BTCUSD-2MAR26-66000-P"
NEXT_DAY_CALL = "BTCUSD-3MAR26-70000-C"


def _strangle(side: str = "buy"):
    return make_trade([(CALL, side, "0.01", "120"), (PUT, side, "0.01", "95")])


# the account held 0.03 of the call (three trades); the exchange charged 0.9 USD for it all
CALL_EXERCISED = Exercise(CALL, Decimal("0.03"), Decimal("0.9"), EXPIRY)


def test_each_leg_is_closed_at_intrinsic_value_with_its_share_of_the_exercise_fee():
    """G2, E6: 71,100 settles the 70,000 call at 1,100 (our 0.01 of the 0.03 exercised pays
    a third of the 0.9 fee) and the 66,000 put at 0 (out of the money: no fee)."""
    settled = settle_trade(_strangle(), {(Underlying.BTC, EXPIRY): Decimal("71100")}, AFTER,
                           [CALL_EXERCISED])
    call, put = settled.legs
    assert call.exit_price == Decimal(1100)
    assert put.exit_price == Decimal(0)
    assert call.fees == Decimal("0.3")
    assert put.fees == 0
    assert all(leg.open_qty == 0 for leg in settled.legs)
    assert settled.stage is TradeStage.CLOSED
    assert settled.closed_at == AFTER
    assert settled.realized_pnl() == (Decimal(1100) - 120 + 0 - 95) * Decimal("0.01")
    assert settled.realized_pnl() - settled.fees() == Decimal("8.55")  # 8.85 gross - 0.3


def test_an_itm_short_put_books_its_intrinsic_loss_not_a_full_win():
    """G2: the old system booked every expiry at 0, so a short ITM put looked like a win."""
    trade = make_trade([(PUT, "sell", "0.01", "95")])
    exercised = [Exercise(PUT, Decimal("-0.01"), Decimal("0.1"), EXPIRY)]
    settled = settle_trade(trade, {(Underlying.BTC, EXPIRY): Decimal("64000")}, AFTER,
                           exercised)
    (put,) = settled.legs
    assert put.exit_price == Decimal(2000)
    assert put.fees == Decimal("0.1")
    assert settled.realized_pnl() == (Decimal(95) - 2000) * Decimal("0.01")
    assert settled.realized_pnl() < 0


@pytest.mark.parametrize("history", [[], None, [Exercise(CALL, Decimal("0.03"), None)]])
def test_an_itm_leg_waits_for_its_fee_then_is_booked_without_it_after_the_bound(history):
    """Not published, unreadable (None) or published without a fee: wait, never forever."""
    trade = _strangle()
    prices = {(Underlying.BTC, EXPIRY): Decimal("71100")}
    assert settle_trade(trade, prices, AFTER, history) == trade
    almost = EXPIRY + EXERCISE_FEE_WAIT - timedelta(seconds=1)
    assert settle_trade(trade, prices, almost, history) == trade
    late = EXPIRY + EXERCISE_FEE_WAIT
    settled = settle_trade(trade, prices, late, history)
    assert settled.stage is TradeStage.CLOSED
    assert settled.legs[0].exit_price == Decimal(1100)
    assert settled.fees() == 0
    assert settled.transitions[-1].reason == (
        f"expiry: settled at intrinsic value; exercise fee of {CALL} not published within"
        f" {EXERCISE_FEE_WAIT} of expiry: booked without it")


def test_out_of_the_money_legs_need_no_exercise_history_and_pay_no_fee():
    trade = _strangle()
    otm = {(Underlying.BTC, EXPIRY): Decimal("68000")}
    assert not needs_exercise_history(trade, otm, AFTER)
    assert needs_exercise_history(trade, {(Underlying.BTC, EXPIRY): Decimal("71100")}, AFTER)
    clock = ManualClock(AFTER)
    failing = FaultyExchange(SimVenue(clock, seed=3),
                             FaultPlan.of(FaultRule("exercises", FaultKind.HTTP_5XX)), clock)
    assert read_exercises(failing, trade, otm, AFTER) == ()  # nothing read
    itm = {(Underlying.BTC, EXPIRY): Decimal("71100")}
    assert read_exercises(failing, trade, itm, AFTER) is None  # unreadable: settle later
    settled = settle_trade(trade, otm, AFTER)
    assert settled.stage is TradeStage.CLOSED
    assert settled.fees() == 0


def test_start_up_books_the_fee_share_or_says_it_booked_without():
    """Reconciliation never waits: the history's fee when it has it, else a note."""
    price = {(Underlying.BTC, EXPIRY): Decimal("71100")}.get
    settled = settle_expired(_strangle(), AFTER, lambda u, e: price((u, e)), [CALL_EXERCISED])
    assert settled.legs[0].fees == Decimal("0.3")
    assert "exercise fee" not in settled.transitions[-1].reason
    unknown = settle_expired(_strangle(), AFTER, lambda u, e: price((u, e)), None)
    assert unknown.stage is TradeStage.CLOSED
    assert unknown.fees() == 0
    assert unknown.transitions[-1].reason.endswith(
        f"exercise fee of {CALL} not in the history: booked without it")


@pytest.mark.parametrize("price", [None, Decimal(0)])
def test_without_a_delivery_price_the_trade_is_left_untouched(price):
    """G2: not published yet is never a settlement at 0."""
    trade = _strangle()
    assert settle_trade(trade, {(Underlying.BTC, EXPIRY): price}, AFTER) == trade
    assert settle_trade(trade, {}, AFTER) == trade


def test_nothing_is_settled_before_the_expiry_moment():
    trade = _strangle()
    before = EXPIRY - timedelta(seconds=1)
    assert expired_series(trade, before) == ()
    assert settle_trade(trade, {(Underlying.BTC, EXPIRY): Decimal("71100")}, before) == trade


def test_only_the_expired_legs_of_a_calendar_are_settled():
    trade = make_trade([(CALL, "sell", "0.01", "120"), (NEXT_DAY_CALL, "buy", "0.01", "300")])
    assert expired_series(trade, AFTER) == ((Underlying.BTC, EXPIRY),)
    settled = settle_trade(trade, {(Underlying.BTC, EXPIRY): Decimal("69000")}, AFTER)
    expired, held = settled.legs
    assert expired.exit_price == Decimal(0)
    assert expired.open_qty == 0
    assert held.open_qty == Decimal("0.01")
    assert settled.stage is TradeStage.OPEN


def test_a_trade_settles_whole_or_not_at_all():
    trade = make_trade([(CALL, "buy", "0.01", "120"), (NEXT_DAY_CALL, "buy", "0.01", "300")])
    after_both = LATER + timedelta(minutes=1)
    assert expired_series(trade, after_both) == ((Underlying.BTC, EXPIRY),
                                                 (Underlying.BTC, LATER))
    only_one = {(Underlying.BTC, EXPIRY): Decimal("71100"), (Underlying.BTC, LATER): None}
    assert settle_trade(trade, only_one, after_both) == trade


def test_reconciliations_settlement_price_reads_the_exchange_and_survives_its_failures():
    clock = ManualClock(EXPIRY - timedelta(minutes=5))
    venue = SimVenue(clock, seed=3)
    plan = FaultPlan.of(FaultRule("delivery_price", FaultKind.HTTP_5XX, count=1))
    price = settlement_price_from(FaultyExchange(venue, plan, clock))
    clock.set(AFTER)
    with pytest.raises(ExchangeUnavailable):
        FaultyExchange(venue, FaultPlan.of(FaultRule("delivery_price", FaultKind.HTTP_5XX)),
                       clock).delivery_price(Underlying.BTC, EXPIRY)
    assert price(Underlying.BTC, EXPIRY) is None  # the failed read: unknown, not a crash
    assert price(Underlying.BTC, EXPIRY) == venue.delivery_price(Underlying.BTC, EXPIRY)
    assert price(Underlying.BTC, LATER) is None
