"""What the simulated venue will do to our working orders and RFQs, asked ahead of time.

A simulation stepping by events (service/order_probe.py) must tick at the first second at
which a resting order meets the book (matching.py fills it, or cancels a reduce-only order
with nothing left to reduce) and at every moment an RFQ's quotes change, and need not tick
in between. The venue only acts when it is read (venue.py catches up), so it can be asked
beforehand what a read at a later second would do, without doing it:

- `first_fill`: scans forward, pricing only the instruments of the open orders (a pure
  function of the second), and returns the first second at which one of them meets the
  book, with the liquidity our fills already took this minute (an order not crossing, or
  crossing only levels we emptied, does nothing). Every second is looked at, a superset
  of the seconds at which the venue matches (its catch-up grid and the reads), so a fill
  is never stepped over: a stretch in which the market's bounds (quote_bounds.py) keep
  every order's price short of the opposite best price is passed over whole; in the
  others each second's best prices are priced alone (`Market.figures`), and only a
  second whose best price crosses is asked of the matcher with the whole book. An order
  of an instrument that expires is cancelled at the expiry (08:00): that second is
  returned too.
- `next_quote_change`: when a request's makers publish their next quotes or it expires;
  until then its quotes are those already published (`quotes_at` shows them at a later
  second, expired ones as EXPIRED, as `rfq_quotes` would).
- `books_at`: the books of some instruments at a later second; `tops_at`: only their
  best prices (cheaper); `legs_at`: their chain rows and books, as a tick that read them
  would hold them (a limit execution prices a leg from those); `top_ranges`: the range
  of their best prices over a stretch, from the market's bounds (an RFQ's look-ahead
  passes over stretches whose book cost cannot make a quote acceptable, rfq_probe.py).
- `next_settlement`: the next 08:00, when expiries settle (a limit to every look-ahead).
- `no_bid_throughout`: that an option shows no bid at any second of a stretch, proven
  from the index's range over it (quote_bounds.py) instead of pricing every second.

Nothing here changes the venue: no catch-up, no id drawn, no cache filled beyond the
market's own per-second cache. With delayed fill reports (a control) an order's view
changes with time alone; `exact` is then False and the caller ticks every second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.domain.rfq import RfqQuote, RfqState
from runner.domain.snapshot import Book, Chain, MarketSnapshot, OptionQuote
from runner.sim.listing import next_expiry_moment
from runner.sim.makers import RfqDesk
from runner.sim.market import Market, epoch_second
from runner.sim.matching import Matcher
from runner.sim.quote_bounds import shows_no_bid
from runner.sim.records import SimOrder

Top = tuple[Decimal | None, Decimal | None]  # best bid, best ask
PriceRange = tuple[Decimal, Decimal]  # lowest, highest


class TopRange(NamedTuple):
    """One option's best bid and ask over a stretch of seconds: the range of each side
    proven to show at every second (None: not proven), and whether no bid shows at any."""

    bid: PriceRange | None
    ask: PriceRange | None
    no_bid: bool


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
        """Stretches in which the market's bounds keep every order off the book are
        passed over whole; in the others each second's top of book is priced, and only a
        top that crosses is asked of the matcher with the whole book (taken liquidity)."""
        symbols = sorted({order.symbol for order in orders})
        pacer = Pacer()
        second = first
        while second <= last:
            end = pacer.stretch(second, last)
            if end is not None:
                if self._off_the_book_throughout(orders, symbols, second, end):
                    pacer.passed()
                    second = end + 1
                    continue
                pacer.failed(second)
            if self._meets_at(orders, second):
                return datetime.fromtimestamp(second, tz=UTC)
            second += 1
        return None

    def _off_the_book_throughout(self, orders: list[SimOrder], symbols: list[str], first: int,
                                 last: int) -> bool:
        """Whether no order's price reaches the opposite side's best price at any second
        of [first, last], from the market's bounds (a fill needs the top to cross)."""
        bounds = self._market.figure_bounds(symbols, range(first, last + 1))
        if bounds is None:
            return False
        for order in orders:
            cents = order.price.scaleb(2)
            figures = bounds[order.symbol]
            if order.side is Side.BUY and not figures.ask[0] > cents:
                return False
            if order.side is Side.SELL and not figures.bid[1] < cents:
                return False
        return True

    def _meets_at(self, orders: list[SimOrder], second: int) -> bool:
        tops = self._tops(sorted({order.symbol for order in orders}), second)
        moment = None
        for order in orders:
            bid, ask = tops.get(order.symbol, (None, None))
            best = ask if order.side is Side.BUY else bid
            if best is None or (best > order.price if order.side is Side.BUY
                                else best < order.price):
                continue  # the top does not cross: no level does
            state = self._market.state(order.symbol, second)
            moment = moment or datetime.fromtimestamp(second, tz=UTC)
            if state is not None and self._matcher.meets_book(order, state, moment):
                return True
        return False

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

    def tops_at(self, symbols: Iterable[str], at: datetime) -> dict[str, Top]:
        """The best bid and ask (None: an empty side) of the listed `symbols` at `at`, as
        `books_at` shows them, from the top's figures alone (`Market.figures`: no book,
        no row, nothing cached) where they can be had."""
        return self._tops(list(symbols), epoch_second(at))

    def _tops(self, symbols: list[str], second: int) -> dict[str, Top]:
        figures = self._market.figures(symbols, second)
        tops = {}
        for symbol in symbols:
            found = figures.get(symbol)
            if found is not None:
                tops[symbol] = (_price(found.bid), _price(found.ask))
                continue
            state = self._market.state(symbol, second)
            if state is not None:
                book = state.book()
                tops[symbol] = (book.best_bid, book.best_ask)
        return tops

    def top_ranges(self, symbols: Sequence[str], first: datetime,
                   last: datetime) -> dict[str, TopRange] | None:
        """Each of `symbols`' best bid and ask over the seconds [first, last] (TopRange),
        from the market's bounds over them (`Market.figure_bounds`, quote_bounds.py);
        None when the stretch cannot be bounded."""
        seconds = range(epoch_second(first), epoch_second(last) + 1)
        bounds = self._market.figure_bounds(symbols, seconds)
        if bounds is None:
            return None
        shown = self._tops(list(symbols), seconds[0])  # an emptied side shows at no second
        ranges = {}
        for symbol in symbols:
            figures, top = bounds[symbol], shown.get(symbol)
            instrument = self._market.instrument(symbol)
            if top is None or instrument is None:
                return None
            # The bounds are a tick wider than the first tick each way: a lowest bound
            # above zero is a first tick of at least two, a side that shows.
            ranges[symbol] = TopRange(
                _range(figures.bid) if top[0] is not None and figures.bid[0] > 0 else None,
                _range(figures.ask) if top[1] is not None and figures.ask[0] > 0 else None,
                shows_no_bid(figures, int(instrument.tick_size.scaleb(2))))
        return ranges

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


def _price(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


def _range(cents: tuple[float, float]) -> PriceRange:
    return Decimal(cents[0]).scaleb(-2), Decimal(cents[1]).scaleb(-2)


class Pacer:
    """How long a stretch to try to pass over whole (in seconds, or ticks): longer after
    one passed, shorter after one failed, and after a failure none for as long as it was
    (those seconds are looked at one by one): a failed bound costs a few seconds' worth
    of pricing, a passed one saves a stretch's worth."""

    SHORTEST, FIRST, LONGEST = 4, 16, 1024

    def __init__(self) -> None:
        self._length = self.FIRST
        self._resume = -1

    def stretch(self, at: int, last: int) -> int | None:
        """The last of the stretch to try from `at` (at most `last`), or None: none now."""
        if at < self._resume:
            return None
        end = min(at + self._length - 1, last)
        return end if end > at else None

    def passed(self) -> None:
        self._length = min(2 * self._length, self.LONGEST)

    def failed(self, at: int) -> None:
        self._resume = at + self._length
        self._length = max(self._length // 2, self.SHORTEST)
