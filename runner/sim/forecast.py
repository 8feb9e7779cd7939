"""What the simulated venue will do to our working orders and RFQs, asked ahead of time.

A simulation stepping by events (service/order_probe.py) must tick at the first second at
which a resting order meets the book (matching.py fills it, or cancels a reduce-only order
with nothing left to reduce) and at every moment an RFQ's quotes change, and need not tick
in between. The venue only acts when it is read (venue.py catches up), so it can be asked
beforehand what a read at a later second would do, without doing it:

- `first_fill`: scans forward second by second, pricing only the instruments of the open
  orders (`Market.state`, a pure function of the second), and returns the first second at
  which one of them meets the book, with the liquidity our fills already took this minute
  (an order not crossing, or crossing only levels we emptied, does nothing). Every second
  is scanned, a superset of the seconds at which the venue matches (its catch-up grid and
  the reads), so a fill is never stepped over. An order of an instrument that expires is
  cancelled at the expiry (08:00): that second is returned too.
- `next_quote_change`: when a request's makers publish their next quotes or it expires;
  until then its quotes are those already published (`quotes_at` shows them at a later
  second, expired ones as EXPIRED, as `rfq_quotes` would).
- `books_at`: the books of some instruments at a later second; `legs_at`: their chain
  rows and books, as a tick that read them would hold them (a limit execution prices a
  leg from those).
- `next_settlement`: the next 08:00, when expiries settle (a limit to every look-ahead).
- `no_bid_throughout`: that an option shows no bid at any second of a stretch, proven
  from the index's range over it (quote_bounds.py) instead of pricing every second.

Nothing here changes the venue: no catch-up, no id drawn, no cache filled beyond the
market's own per-second cache. With delayed fill reports (a control) an order's view
changes with time alone; `exact` is then False and the caller ticks every second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from runner.domain.instruments import Underlying
from runner.domain.rfq import RfqQuote, RfqState
from runner.domain.snapshot import Book, Chain, MarketSnapshot, OptionQuote
from runner.sim.listing import next_expiry_moment
from runner.sim.makers import RfqDesk
from runner.sim.market import Market, epoch_second
from runner.sim.matching import Matcher
from runner.sim.records import SimOrder


class VenueForecast:
    """Read-only look-ahead over one venue's state as of its last catch-up (`now`)."""

    def __init__(self, market: Market, matcher: Matcher, desk: RfqDesk, now: datetime) -> None:
        self._market = market
        self._matcher = matcher
        self._desk = desk
        self.now = now

    @property
    def exact(self) -> bool:
        """Whether order views change only by matching (no delayed fill reports)."""
        return not self._matcher.report_delay

    def next_settlement(self) -> datetime:
        """The next 08:00 UTC: expiries settle, positions and listings change."""
        return next_expiry_moment(self.now)

    def first_fill(self, until: datetime) -> datetime | None:
        """The first second in (now, until] at which the venue would fill (or cancel) a
        resting order of ours; None when none would."""
        orders = list(self._matcher.open.values())
        if not orders:
            return None
        first, last = epoch_second(self.now) + 1, epoch_second(until)
        expiry = min((order.instrument.expiry for order in orders
                      if order.instrument.expiry <= until), default=None)
        if expiry is not None:
            last = min(last, epoch_second(expiry) - 1)
        found = self._first_crossing(orders, first, last)
        return expiry if found is None else found

    def _first_crossing(self, orders: list[SimOrder], first: int, last: int) -> datetime | None:
        state_of, meets = self._market.state, self._matcher.meets_book
        for second in range(first, last + 1):
            moment = datetime.fromtimestamp(second, tz=UTC)
            for order in orders:
                state = state_of(order.symbol, second)
                if state is not None and meets(order, state, moment):
                    return moment
        return None

    def next_quote_change(self, request_id: str) -> datetime | None:
        """When the request's quotes next change by time alone: a maker's next quote or the
        request's expiry; None when the request is no longer active (or unknown)."""
        request = self._desk.requests.get(request_id)
        if request is None or request.state is not RfqState.ACTIVE:
            return None
        lifetime = timedelta(seconds=self._desk.behaviour.quote_lifetime_s)
        due = [first + lifetime * done
               for first, done in zip(request.first_quotes, request.rounds_done, strict=True)]
        return min([moment for moment in due if moment < request.expires_at]
                   + [request.expires_at])

    def quotes_at(self, request_id: str, at: datetime) -> tuple[RfqQuote, ...]:
        """The request's quotes as `rfq_quotes` would show them at `at` (before its next
        quote change)."""
        request = self._desk.requests.get(request_id)
        if request is None:
            return ()
        return tuple(quote.view(at) for quote in request.quotes)

    def books_at(self, symbols: Iterable[str], at: datetime) -> dict[str, Book]:
        """The books of the listed `symbols` at `at`, as `orderbook` would read them."""
        second = epoch_second(at)
        books = {}
        for symbol in symbols:
            state = self._market.state(symbol, second)
            if state is not None:
                books[symbol] = state.book()
        return books

    def legs_at(self, symbols: Iterable[str], at: datetime,
                learned_ticks: Mapping[str, Decimal]) -> MarketSnapshot:
        """The chain rows and books of the listed `symbols` at `at`, with the ticks the
        service learned: all that pricing those legs reads."""
        second = epoch_second(at)
        rows: dict[Underlying, list[OptionQuote]] = {}
        books = {}
        for symbol in symbols:
            state = self._market.state(symbol, second)
            if state is not None:
                rows.setdefault(state.instrument.underlying, []).append(state.quote)
                books[symbol] = state.book()
        return MarketSnapshot(at=at, books=books, learned_ticks=learned_ticks,
                              chains={u: Chain.of(u, quotes) for u, quotes in rows.items()})

    def no_bid_throughout(self, symbol: str, first: datetime, last: datetime) -> bool:
        """True only when `symbol`'s book shows no bid at any second of [first, last];
        False when it may (or cannot be bounded: not listed, near expiry).

        A close's leg without a bid is tried every tick (lessons B6), sometimes for days,
        and pricing it every second cost more than the rest of a year's run: the market
        proves whole stretches bidless from its bounds over the stretch's box of index
        and time (`Market.no_bid_throughout`, quote_bounds.py)."""
        seconds = range(epoch_second(first), epoch_second(last) + 1)
        return self._market.no_bid_throughout(symbol, seconds)
