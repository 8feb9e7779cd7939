"""Looking ahead at an RFQ collecting quotes: the first tick its executor acts (simulation).

Part of the order probe (order_probe.py). Between two changes of its quotes (a maker's
next quote, the request's expiry) and its deadline, an RFQ's executor can act only at a
tick whose book makes a quote acceptable, and its running figures (the book baseline,
the best improvement seen) change with the book. Each tick is tried with the executor's
own step (`advance`) on the books the venue would show then, except where it is proven
to change nothing:

- a tick whose inputs (`rfq_inputs`: the book cost, the quotes still usable) are those
  of the tick before, which changed nothing at all, changes nothing again: it is not
  stepped, and its inputs come from the tops of the books alone (`tops_at`), without
  making the books;
- a stretch of ticks over which the venue bounds each leg's best bid and ask
  (`top_ranges`, from the index's range over it) so that the book cost stays in a range
  where no usable quote can be accepted nor raise the best improvement
  (`rfq_quiet_between`) is passed over whole: every tick in it only refreshes the book
  baseline, which the next tick stepped sets again.

The tick that sets the best improvement is stepped to, and one whose book is missing
makes the tick before it (whose book the executor falls back on) a step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from runner.domain.commands import QuotesReceived
from runner.domain.orders import Side
from runner.domain.rfq import RfqLeg
from runner.domain.snapshot import Book, BookLevel, MarketSnapshot
from runner.domain.trades import Trade
from runner.execution import ExecutionState, advance
from runner.execution.next_action import rfq_inputs, rfq_quiet_between, rfq_step_is_quiet
from runner.execution.rfq import book_cost
from runner.execution.state import RfqProgress
from runner.sim.forecast import Pacer, Top, TopRange, VenueForecast


def rfq_event(trade: Trade, state: ExecutionState, forecast: VenueForecast, now: datetime,
              tick: timedelta, limit: datetime) -> datetime:
    """The first tick before `limit` at which this RFQ's executor does something with the
    quotes it holds (or at which its running figures must be seen), else `limit`."""
    rfq = state.rfq
    change = None
    if rfq is not None and rfq.request_id is not None:
        change = forecast.next_quote_change(rfq.request_id)
    if rfq is None or rfq.request_id is None or change is None:
        return now + tick  # the request ended: the next poll tells the executor
    look = _Look(trade, state, forecast, rfq, rfq.request_id)
    limit = min(limit, change, rfq.deadline)
    pacer = Pacer()
    at = now + tick
    while at < limit:
        ticks = (at - now) // tick
        end = pacer.stretch(ticks, (limit - now - tick) // tick)
        if end is not None:
            last = now + end * tick
            if look.pass_over(at, last):
                pacer.passed()
                at = last + tick
                continue
            pacer.failed(ticks)
        found = look.step(at)
        if found is not None:
            return found
        at += tick
    return look.raised or limit


class _Look:
    """The executor's steps tried tick by tick, and what the look-ahead keeps of them:
    the state they reached, the last tick that raised the best improvement, the last
    tick with a book, the inputs of a step that changed nothing."""

    def __init__(self, trade: Trade, state: ExecutionState, forecast: VenueForecast,
                 rfq: RfqProgress, request_id: str) -> None:
        self.trade, self.running, self.forecast = trade, state, forecast
        self.rfq, self.wanted, self.request_id = rfq, rfq.wanted, request_id
        self.symbols = sorted({leg.symbol for leg in rfq.wanted})
        self.raised: datetime | None = None
        self.priced: datetime | None = None
        self.unchanged: object = None

    def pass_over(self, first: datetime, last: datetime) -> bool:
        """Whether every tick in [first, last] is proven to change nothing the look-ahead
        must see, keeping what those ticks would leave: with a book throughout, whose cost
        stays where no usable quote is acceptable nor improves on the best seen
        (`rfq_quiet_between`), each only refreshes the book baseline; without one
        throughout (a side a leg needs never shows), each has the inputs of the last step
        tried, which changed nothing."""
        ranges = self.forecast.top_ranges(self.symbols, first, last)
        books = None if ranges is None else _range_books(self.wanted, ranges, first)
        if books is None:
            return False
        cheapest, dearest = books
        lowest, highest = book_cost(self.wanted, cheapest), book_cost(self.wanted, dearest)
        quotes = self.forecast.quotes_at(self.request_id, first)
        if lowest is not None and highest is not None:
            running = self.running.rfq
            if running is None or not rfq_quiet_between(running, quotes, first, lowest,
                                                        highest):
                return False
            self.priced, self.unchanged = last, None
            return True
        if self.priced is not None or self.unchanged is None:
            # A first tick without a book is stepped (or ends the look-ahead). A shortcut:
            # the comparison below refuses these too, as `unchanged` then is None or a
            # priced step's inputs (a book cost), never a bookless tick's.
            return False
        # The missing sides must be those of the last step: a bid vanishing where the
        # stretch starts is an act (`unpriced_legs`). The usable quotes only shrink
        # (they expire; new ones come at the limit), and both ends bound them.
        last_quotes = self.forecast.quotes_at(self.request_id, last)
        return rfq_inputs(self.rfq, cheapest, quotes, first) == self.unchanged == rfq_inputs(
            self.rfq, cheapest, last_quotes, last)

    def step(self, at: datetime) -> datetime | None:
        """The tick to step to, when the tick at `at` ends the look-ahead; else None."""
        forecast, running = self.forecast, self.running
        tops = _tops_snapshot(at, forecast.tops_at(self.symbols, at))
        has_book = book_cost(self.wanted, tops) is not None
        if not has_book and self.priced is not None:
            return self.raised or self.priced  # the executor falls back on that book
        quotes = forecast.quotes_at(self.request_id, at)
        inputs = rfq_inputs(self.rfq, tops, quotes, at)
        if inputs != self.unchanged:
            snapshot = MarketSnapshot(at=at, books=forecast.books_at(self.symbols, at))
            try:
                step = advance(running, self.trade, snapshot,
                               (QuotesReceived(self.request_id, quotes),), at)
            except Exception:  # a step that fails is left to the tick, which reports it
                return self.raised or at
            if not rfq_step_is_quiet(running, step, self.trade) or step.state is None:
                return self.raised or at  # the best improvement it saw first, then the act
            if _best(step.state) != _best(running):
                self.raised = at
            self.unchanged = inputs if step.state == running else None
            self.running = step.state
        if has_book:
            self.priced = at
        return None


def _range_books(wanted: tuple[RfqLeg, ...], ranges: dict[str, TopRange],
                 at: datetime) -> tuple[MarketSnapshot, MarketSnapshot] | None:
    """The cheapest and the dearest books the ranges allow for the legs (buying at the
    lowest ask and selling at the highest bid, and the reverse), a side that never shows
    left empty; None when a side the legs need may show at some ticks and not others."""
    cheapest: dict[str, Top] = {}
    dearest: dict[str, Top] = {}
    for leg in wanted:
        top = ranges[leg.symbol]
        if leg.side is Side.BUY:
            if top.ask is None:
                return None
            cheapest[leg.symbol], dearest[leg.symbol] = (None, top.ask[0]), (None, top.ask[1])
        elif top.bid is not None:
            cheapest[leg.symbol], dearest[leg.symbol] = (top.bid[1], None), (top.bid[0], None)
        elif top.no_bid:
            cheapest[leg.symbol] = dearest[leg.symbol] = (None, None)
        else:
            return None
    return _tops_snapshot(at, cheapest), _tops_snapshot(at, dearest)


_PRICE_ONLY = Decimal(1)  # the tops carry no size: these books serve the book cost only


def _tops_snapshot(at: datetime, tops: dict[str, Top]) -> MarketSnapshot:
    """Books of one level a side at the given best prices: what the book cost (and which
    sides are missing) reads, never a step's market."""
    return MarketSnapshot(at=at, books={
        symbol: Book(symbol, () if bid is None else (BookLevel(bid, _PRICE_ONLY),),
                     () if ask is None else (BookLevel(ask, _PRICE_ONLY),), at)
        for symbol, (bid, ask) in tops.items()})


def _best(state: ExecutionState) -> object:
    return state.rfq.best_improvement if state.rfq is not None else None
