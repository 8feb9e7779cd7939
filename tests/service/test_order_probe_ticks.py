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
  ticks (`VenueForecast.legs_at`), or when the probe never sees the leg priced;
- a whole simulation over a venue truncating prices to a coarser grid, run every second
  and by events: a tick is learned from a truncated opening buy, the close's leg without
  a bid waits on it and is sold at the same second and price by both. Red when the
  coarse run steps over the second the bid returns, and when the service stops lending
  its learned ticks to the tick's snapshot (loop.py: the sale at 1 on the listed grid is
  truncated to 0 and refused, F4, and the leg sells two minutes later).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.clock import Clock, ManualClock
from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.domain.snapshot import Chain, MarketSnapshot
from runner.domain.trades import Trade, TradeStage
from runner.exchange.port import Exchange
from runner.execution import ExecutionState
from runner.execution.limit import leg_outcome, new_limit_progress
from runner.execution.next_action import next_action_at, price_waits
from runner.execution.pricing import Priced, PriceOutcome, Unpriced
from runner.service import simulation
from runner.service.order_probe import OrderProbe
from runner.service.settings import Settings
from runner.sim.config import SimConfig
from runner.sim.faults import FaultPlan
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
from tests.service.test_order_stepping import wings_fine_and_coarse

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


def test_with_a_coarse_tick_learned_the_probe_steps_to_the_second_the_leg_is_priced(
        ) -> None:
    """A close's leg without a bid (B6) whose instrument the exchange was found to keep
    on a grid ten times the listed tick (F2): the probe, lent that tick, steps to the
    second a search of each second with the executor's pricing on that grid finds, the
    same second it finds without it. The learned grid moves the price sent then, not
    the second."""
    venue = SimVenue(ManualClock(START), seed=2)
    sold = []
    for symbol in bidless_near_the_money(venue, Underlying.ETH, 1, 2):
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
    assert coarse != listed  # a sell rounds up: a bid of 0.1 goes out at 1.0 on tick 1
    assert coarse % tick == 0


def truncating_to(step: Decimal) -> Callable[..., Exchange]:
    """A venue factory for `simulate`: the simulated venue keeping every order price
    truncated down to `step` whatever the listed tick (`runner sim-server
    --truncate-price-to`), as Coincall kept a 9.50 sell at 9.00 (F2)."""
    def build(settings: Settings, clock: Clock, *, seed: int = 0,
              faults: FaultPlan | None = None) -> Exchange:
        assert faults is None
        return SimVenue(clock, seed=seed, config=SimConfig(truncate_price_to=step))
    return build


def test_a_leg_waiting_for_a_bid_on_a_learned_tick_is_sold_at_the_same_second_and_price(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fine (every second) and coarse (by events) runs over a venue keeping BTC option
    prices on a grid of 10 while listing a tick of 1: the wings' opening call buy sent at
    58 rests at 50, so the service learns tick 10 for the call and puts its later prices
    on it (60, then 70, which fills). At 07:10 the close sells the put and cannot price
    the call, which has no bid (B6); it is tried every fine tick, stepped over by the
    coarse run, and sold at 07:36:39, when a bid returns, at 10: its price rounded up
    on the learned grid (1 on the listed one, which the venue would truncate to 0). Both
    runs send the same orders at the same seconds and prices and make the same trade.
    (The probe's learned ticks do not decide that second: see the module's docstring;
    this run is the same with `{}` for them.)"""
    monkeypatch.setattr(simulation, "build_exchange", truncating_to(D(10)))
    fine, coarse, sent = wings_fine_and_coarse(tmp_path, "07:10", 5, 100)
    (trade,) = fine.trades
    assert trade.stage is TradeStage.CLOSED
    call, _ = trade.legs
    assert call.symbol.endswith("-C")
    assert call.exit_price == 10
    prices_at = [(created.time(), price) for _, created, price, _, _ in sent]
    assert prices_at[2:4] == [(time(6, 1, 1), 60), (time(6, 1, 31), 70)]  # learned: 10
    assert prices_at[-1] == (time(7, 36, 39), 10)  # the call's close, on the learned grid
    assert coarse.ticks * 20 < fine.ticks
