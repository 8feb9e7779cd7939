"""The order probe may look ahead on any tick grid: no tick decides whether a waiting
leg is priced, nor why it is not (lessons F2, B6, B11, B12; issue 8 finding 9).

A simulation stepping by events asks the probe (service/order_probe.py) for the first
tick at which a leg waiting to be priced would be priced, or unpriced for another reason,
by the executor's own pricing (`leg_outcome`). The probe lends that pricing the ticks the
service learned from prices the exchange truncated (F2), as the live tick does. Yet what
it compares does not depend on the tick: the tick only snaps a price already found
(pricing.py `limit_price`), and every reason a leg goes unpriced is decided before the
snap (no reference price, an opening sell below its floor judged on the unsnapped price,
no fair value) and names no snapped figure. So the probe answers the same with the
learned ticks as without: replacing `learned` by `{}` in `_first_priced` fails no test
here, and cannot (the change is equivalent). These tests pin the property that makes it
so, and that the learned tick moves the price sent, not the second:

- over a grid of books, marks, phases, guards, sides, opens and closes, pricing on a
  coarser learned tick gives a price where the listed tick does (often another one)
  and the same reason where it does not. Red when pricing judges a snapped price, e.g.
  B11's floor checked after the snap (a sell rounds up, so a coarse tick lifts it over
  the floor): then the probe's learned ticks would decide the second;
- on the simulated venue, with a coarse tick learned for a close's leg without a bid
  (B6), the probe steps to the very second a search of each second with the executor's
  pricing on the learned grid finds, the same second as without it, and the price at
  that second is on the learned grid. Red when the venue's look-ahead drops the learned
  ticks (`VenueForecast.legs_at`).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.domain.snapshot import Chain, MarketSnapshot
from runner.domain.trades import Trade
from runner.execution import ExecutionState
from runner.execution.limit import leg_outcome, new_limit_progress
from runner.execution.next_action import next_action_at, price_waits
from runner.execution.pricing import Priced, PriceOutcome, Unpriced
from runner.service.order_probe import OrderProbe
from runner.sim.forecast import VenueForecast
from runner.sim.venue import SimVenue
from runner.strategy.model import (
    Phase,
    PhasedLimitExecution,
    PriceGuards,
    PriceReference,
)
from tests.execution.helpers_execution import CALL, new_trade, option_quote
from tests.service.test_order_probe_bids import (
    HORIZON,
    SECOND,
    START,
    bidless_near_the_money,
    waiting_close,
)

D = Decimal
LISTED = "0.1"
LEARNED = (D("0.5"), D(10))  # coarser grids the exchange may keep (listed x 5 ...)
BIDS = (None, "0", "0.03", "4.93", "9.46")
ASKS = (None, "5.07", "9.54", "12")
MARKS = (None, "5", "9.5", "20")
OFFSETS = (D(0), D(2), D(-100))  # -100 %: a sell's factor 0, no price
GUARDS = (PriceGuards(), PriceGuards(open_sell_floor_pct_of_fair=D(99)),
          PriceGuards(min_floor_price=D("0.03")),
          PriceGuards(open_sell_floor_pct_of_fair=D(99), min_floor_price=D("0.03")))
WHEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def quoted(bid: str | None, ask: str | None, mark: str | None,
           learned: Decimal | None) -> MarketSnapshot:
    """CALL's chain row on the listed tick, with a learned tick lent as the probe does."""
    underlying = Underlying.BTC
    return MarketSnapshot(at=WHEN, chains={underlying: Chain.of(
        underlying, [option_quote(CALL, bid, ask, mark, tick=LISTED)])},
        learned_ticks={} if learned is None else {CALL: learned})


def kind(outcome: PriceOutcome) -> str:
    """What the probe compares: priced (at whatever price), or the reason it is not."""
    return "priced" if isinstance(outcome, Priced) else outcome.why


def test_no_tick_decides_whether_a_leg_is_priced_nor_why_it_is_not() -> None:
    trade = new_trade((CALL, Side.SELL, "1"))
    unpriced: set[str] = set()
    repriced = 0
    for reference, offset, guards in itertools.product(PriceReference, OFFSETS, GUARDS):
        phase = Phase(timedelta(minutes=1), timedelta(minutes=1), reference, offset)
        progress = new_limit_progress(trade, PhasedLimitExecution((phase,), guards), WHEN, 0)
        (leg,) = trade.legs
        for bid, ask, mark in itertools.product(BIDS, ASKS, MARKS):
            for side, opening in itertools.product(Side, (True, False)):
                listed = leg_outcome(progress, leg, side, quoted(bid, ask, mark, None),
                                     opening=opening)
                for learned in LEARNED:
                    coarse = leg_outcome(progress, leg, side, quoted(bid, ask, mark, learned),
                                         opening=opening)
                    assert kind(coarse) == kind(listed), (reference, offset, guards, bid,
                                                          ask, mark, side, opening, learned)
                    repriced += coarse != listed
                if isinstance(listed, Unpriced):
                    unpriced.add(listed.why)
    # The grid is not vacuous: the learned tick moves prices, and every reason a leg
    # waits for is met: no price to sell or buy at (each reference), an opening sell
    # below its floor (B11), no fair value to check that floor against.
    assert repriced > 10_000
    assert {why.split(": ", 1)[1] for why in unpriced if "price to" in why} == {
        f"no {reference.value} price to {side.value.lower()} at"
        for reference in PriceReference for side in Side}
    assert sum("not opening into a thin book (B11)" in why for why in unpriced) > 50
    assert f"{CALL}: no fair value to check the opening sell floor" in unpriced


def first_priced_second_by_second(trade: Trade, state: ExecutionState,
                                  forecast: VenueForecast, until: datetime,
                                  learned: dict[str, Decimal]) -> datetime:
    """The first second at which the executor's pricing, on the `learned` grid, prices
    the waiting leg or words another reason; `until` when none does before it."""
    (wait,) = price_waits(state, trade, START)
    assert state.limit is not None
    at = START + SECOND
    while at < until:
        market = forecast.legs_at([wait.leg.symbol], at, learned)
        outcome = leg_outcome(state.limit, wait.leg, wait.side, market, opening=False)
        if kind(outcome) != wait.why:
            return at
        at += SECOND
    return until


def priced_at(trade: Trade, state: ExecutionState, forecast: VenueForecast, at: datetime,
              learned: dict[str, Decimal]) -> Decimal:
    """The price the executor's pricing gives the waiting leg at `at` on that grid."""
    (wait,) = price_waits(state, trade, START)
    assert state.limit is not None
    outcome = leg_outcome(state.limit, wait.leg, wait.side,
                          forecast.legs_at([wait.leg.symbol], at, learned), opening=False)
    assert isinstance(outcome, Priced)
    return outcome.price


@pytest.mark.parametrize(("seed", "underlying", "position"), [
    (3, Underlying.BTC, 1), (2, Underlying.ETH, 1)])
def test_with_a_coarse_tick_learned_the_probe_steps_to_the_second_the_leg_is_priced(
        seed: int, underlying: Underlying, position: int) -> None:
    """A close's leg without a bid (B6) whose instrument the exchange was found to keep
    on a grid ten times the listed tick (F2): the probe, lent that tick, steps to the
    second a search of each second with the executor's pricing on that grid finds, the
    same second it finds without it. The learned grid moves the price sent then, not
    the second."""
    venue = SimVenue(ManualClock(START), seed=seed)
    sold = []
    for symbol in bidless_near_the_money(venue, underlying, position, 2):
        trade, state = waiting_close(venue, symbol)
        limit = min(next_action_at(state, trade, START, watching_prices=True),
                    START + HORIZON)
        (quote,) = venue.option_quotes([symbol])
        learned = {symbol: quote.instrument.tick_size * 10}
        found = OrderProbe(venue.order_forecast, lambda lent=learned: lent).next_event(
            [(trade, state)], START, SECOND, limit)
        forecast = venue.order_forecast()
        assert found == first_priced_second_by_second(
            trade, state, forecast, limit, learned), symbol
        assert found == OrderProbe(venue.order_forecast).next_event(
            [(trade, state)], START, SECOND, limit), symbol
        if found < limit:  # a bid shows: priced that second on either grid
            sold.append((priced_at(trade, state, forecast, found, {}),
                         priced_at(trade, state, forecast, found, learned),
                         learned[symbol]))
    ((listed, coarse, tick),) = sold  # one of the two legs gets a bid within the horizon
    assert coarse != listed  # a sell rounds up: a bid of 1 goes out at 10 on tick 10
    assert coarse % tick == 0
