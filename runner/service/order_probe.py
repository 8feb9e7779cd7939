"""Looking ahead at working orders and RFQs without a whole tick (simulation only).

While orders or RFQs work, a simulation used to tick every second, as live: a week of
the example book was two thousand ticks, most of them watching a resting order or an RFQ
whose quotes did not beat the book. Yet between two events an execution acts only at the
moments its own state fixes, and the venue only at the moments its market fixes, so a
simulation stepping by events (stepping.py) asks this probe for the first tick at which
anything can change, and steps there:

- the execution's own next action (execution/next_action.py): a requote, the next
  phase, the end of its budget, a refused leg's pause ending; the next tick whenever an
  answer is awaited (orders placed or cancelled, an RFQ being created or accepted);
- for a leg the last tick could not price (a close's deep out-of-the-money leg without a
  bid, retried every tick until it expires, lessons B6): the first tick at which the
  executor's own pricing (`leg_outcome`) gives it a price, or another reason, on the
  books the venue would show then; until then its tick changes nothing. A leg may wait
  for days (a retry round waits without rolling over, retry.py), so stretches of a minute
  in which the venue proves no bid can show (`no_bid_throughout`, sim/quote_bounds.py) are
  passed over whole, and only the others are priced tick by tick;
- the first second at which the venue fills (or cancels) a resting order of ours
  (sim/forecast.py: it scans forward pricing only those orders' instruments);
- for an RFQ collecting quotes: its makers' next quotes, the request's expiry, its
  deadline, and the first tick at which the executor itself would do anything with the
  quotes it holds: each tick is tried with the executor's own step (`advance`) on the
  books the venue would show then; only a step that does something ends the look-ahead.
  The running figures such a step keeps for the failure reason (the book baseline, the
  best improvement seen) are followed too: the tick that sets the best improvement is
  stepped to, and one whose book is missing makes the tick before it (whose book the
  executor falls back on) a step;
- the next 08:00 (expiries settle).

Fine and coarse stepping then make the same trades, fills, prices and times (tests pin
it). The log differs: the executor's per-tick notes ("best of 4 quotes costs ...") are
written only at the ticks made. Without the simulated venue's look-ahead (another
exchange), or with delayed fill reports, every tick is made while anything works.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from runner.domain.commands import OrderPurpose
from runner.domain.orders import Side
from runner.domain.snapshot import Book, BookLevel, MarketSnapshot
from runner.domain.trades import Trade
from runner.execution import ExecutionState
from runner.execution.limit import leg_outcome
from runner.execution.next_action import PriceWait, next_action_at, price_waits
from runner.execution.phases import phase_plan
from runner.execution.pricing import Unpriced
from runner.service.rfq_probe import rfq_event
from runner.sim.forecast import VenueForecast
from runner.strategy.vocabulary import PriceReference

Working = Sequence[tuple[Trade, ExecutionState]]


class OrderProbe:
    """Finds the next tick at which working orders or RFQs can change anything."""

    def __init__(self, forecast_of: Callable[[], VenueForecast],
                 learned_ticks: Callable[[], Mapping[str, Decimal]] = dict) -> None:
        self._forecast_of = forecast_of
        self._learned_ticks = learned_ticks

    @classmethod
    def of(cls, exchange: object,
           learned_ticks: Callable[[], Mapping[str, Decimal]] = dict) -> OrderProbe | None:
        """A probe for an exchange that can look ahead (the simulated venue), else None;
        `learned_ticks` lends it the service's learned ticks (prices are put on them)."""
        forecast_of = getattr(exchange, "order_forecast", None)
        return cls(forecast_of, learned_ticks) if callable(forecast_of) else None

    @staticmethod
    def acts_next_tick(working: Working, now: datetime, tick: timedelta) -> bool:
        """Whether an execution acts at the next tick by its own state alone (an answer
        awaited, a leg to place): then nothing needs looking ahead at, nor the moments of
        the clock working out (stepping.py asks this first, every step)."""
        soon = now + tick
        return any(next_action_at(state, trade, now, watching_prices=True) <= soon
                   for trade, state in working)

    def next_event(self, working: Working, now: datetime, tick: timedelta,
                   horizon: datetime | None) -> datetime:
        """The earliest moment (at least the next tick) at which one of the `working`
        executions, or the venue's handling of their orders and requests, may change
        anything; never later than `horizon`."""
        soon = now + tick
        moments = [next_action_at(state, trade, now, watching_prices=True)
                   for trade, state in working]
        limit = min([*moments, *([horizon] if horizon is not None else [])], default=soon)
        if limit <= soon:
            return soon
        forecast = self._forecast_of()
        if not forecast.exact or forecast.now != now:
            return soon  # the venue was not read at this tick, or views change by time
        limit = min(limit, forecast.next_settlement())
        fill = forecast.first_fill(limit)
        if fill is not None:
            limit = min(limit, fill)
        for trade, state in working:
            if state.rfq is not None and limit > soon:
                limit = min(limit, rfq_event(trade, state, forecast, now, tick, limit))
        if limit > soon:
            limit = self._first_priced(working, forecast, now, tick, limit)
        return max(limit, soon)

    def _first_priced(self, working: Working, forecast: VenueForecast, now: datetime,
                      tick: timedelta, limit: datetime) -> datetime:
        """The first tick before `limit` at which a leg waiting to be priced would be
        priced (or unpriced for another reason), else `limit`. Stretches in which every
        waiting leg waits for a bid that the venue proves absent throughout are passed
        over whole (a leg may wait for days); the others are tried tick by tick."""
        waiting = [(state, wait) for trade, state in working
                   for wait in price_waits(state, trade, now)]
        if not waiting:
            return limit
        symbols = sorted({wait.leg.symbol for _, wait in waiting})
        bids_only = all(_waits_for_a_bid(state, wait, now) for state, wait in waiting)
        learned = self._learned_ticks()
        at = now + tick
        while at < limit:
            last = min(at + BID_STRETCH, limit - tick)
            if bids_only and last > at and all(
                    forecast.no_bid_throughout(symbol, at, last) for symbol in symbols):
                at = last + tick
                continue
            if _first_outcome_change(waiting, forecast.legs_at(symbols, at, learned)):
                return at
            at += tick
        return limit


BID_STRETCH = timedelta(minutes=1)  # seconds ruled out at once (forecast.no_bid_throughout)
_FROM_THE_BID = frozenset({PriceReference.AGGRESSIVE, PriceReference.MID})


def _first_outcome_change(waiting: list[tuple[ExecutionState, PriceWait]],
                          market: MarketSnapshot) -> bool:
    """Whether a waiting leg is priced in this market, or unpriced for another reason."""
    for state, wait in waiting:
        assert state.limit is not None  # noqa: S101 (price_waits: limit executions)
        outcome = leg_outcome(state.limit, wait.leg, wait.side, market,
                              opening=state.purpose is OrderPurpose.OPEN)
        if not isinstance(outcome, Unpriced) or outcome.why != wait.why:
            return True
    return False


def _waits_for_a_bid(state: ExecutionState, wait: PriceWait, now: datetime) -> bool:
    """A close's sell priced from the bid (aggressive or mid), unpriced for want of one:
    while no bid shows it stays unpriced, in the same words (the executor's own pricing
    of a book with an ask and no bid says so)."""
    progress = state.limit
    if progress is None or state.purpose is OrderPurpose.OPEN or wait.side is not Side.SELL:
        return False
    if phase_plan(progress.spec)[progress.phase].reference not in _FROM_THE_BID:
        return False
    symbol = wait.leg.symbol
    bidless = MarketSnapshot(at=now, books={symbol: Book(
        symbol, (), (BookLevel(Decimal(1), Decimal(1)),), now)})
    return leg_outcome(progress, wait.leg, Side.SELL, bidless, opening=False) == Unpriced(
        wait.why)
