"""What the engine sees in one tick: market, account, positions and open orders.

A snapshot is fetched once per tick and shared by every strategy (design decision
2). It is immutable. A read that failed is `None`, never an empty value: "the
positions call failed" must not look like "flat" (lessons C5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from types import MappingProxyType
from typing import Final, TypeVar

from runner.domain.instruments import Instrument, OptionKind, Underlying
from runner.domain.orders import Order

T = TypeVar("T")
_STRIKE = attrgetter("instrument.strike")  # a quote's strike, the chain's sort key


@dataclass(frozen=True, slots=True)
class BookLevel:
    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class Book:
    """One instrument's orderbook, best level first on each side."""

    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    at: datetime

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None


@dataclass(frozen=True, slots=True)
class Greeks:
    delta: float
    gamma: float
    vega: float
    theta: float


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """One option of the chain: top of book, mark, IV and greeks (per 1 coin)."""

    instrument: Instrument
    bid: Decimal | None  # None = empty side (Coincall sends 0)
    bid_size: Decimal
    ask: Decimal | None
    ask_size: Decimal
    mark: Decimal | None
    mark_iv: float | None
    greeks: Greeks | None
    underlying_price: Decimal | None
    at: datetime
    last: Decimal | None = None  # last traded price; None when it never traded

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def mid(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2

    @property
    def delta(self) -> float | None:
        greeks = self.greeks  # read once: a simulated row computes it on first read
        return greeks.delta if greeks is not None else None


@dataclass(frozen=True, slots=True)
class Account:
    """Account summary in USD."""

    equity: Decimal
    available_margin: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    unrealized_pnl: Decimal = Decimal(0)

    @property
    def available_margin_pct(self) -> Decimal | None:
        if self.equity <= 0:
            return None
        return self.available_margin / self.equity * 100

    @property
    def margin_utilisation_pct(self) -> Decimal | None:
        if self.equity <= 0:
            return None
        return self.initial_margin / self.equity * 100


@dataclass(frozen=True, slots=True)
class Position:
    """One net position; `qty` is signed (long > 0, short < 0).

    Greeks are the exchange's per-position values as it sends them; whether they are
    signed and scaled by the size is unverified (issue 8 finding 8), so no rule decides
    on them: engine/exposure.py uses chain greeks x `qty` and logs these beside.
    """

    symbol: str
    qty: Decimal
    avg_price: Decimal
    mark_price: Decimal | None
    unrealized_pnl: Decimal
    greeks: Greeks | None = None

    @property
    def is_long(self) -> bool:
        return self.qty > 0


class StrikeLadder:
    """The tradable (active) options of one expiry and kind, by ascending strike: what a
    strike rule chooses among. Made once per chain, expiry and kind (so once per tick) and
    shared by every strategy; the deltas are read once, when a rule first needs them."""

    __slots__ = ("_deltas", "quotes", "strikes")

    def __init__(self, quotes: tuple[OptionQuote, ...]) -> None:
        self.quotes = quotes
        self.strikes = tuple(q.instrument.strike for q in quotes)
        self._deltas: tuple[tuple[OptionQuote, ...], tuple[float, ...]] | None = None

    def deltas(self) -> tuple[tuple[OptionQuote, ...], tuple[float, ...]]:
        """The options that carry a delta (ascending strike) and their deltas, alike."""
        if self._deltas is None:
            pairs = [(q, q.delta) for q in self.quotes]
            carried = [(q, d) for q, d in pairs if d is not None]
            self._deltas = (tuple(q for q, _ in carried), tuple(d for _, d in carried))
        return self._deltas


@dataclass(frozen=True, slots=True)
class Chain:
    """Every listed option of one underlying that the tick fetched, by symbol.

    The options are indexed by expiry the first time a strategy asks for one, once per
    chain (so once per tick), and each (expiry, kind) is sorted once: every strategy of
    the tick shares the index instead of scanning the whole chain (issue 11 item 4).
    """

    underlying: Underlying
    quotes: Mapping[str, OptionQuote]
    # expiry -> its options; (expiry, kind) -> sorted by strike; ("ladder", expiry, kind)
    # -> its StrikeLadder. Filled lazily, never part of equality; the quotes never change.
    _index: dict[object, object] = field(default_factory=dict, init=False, repr=False,
                                         compare=False)

    @classmethod
    def of(cls, underlying: Underlying, quotes: Iterable[OptionQuote]) -> Chain:
        return cls(underlying, MappingProxyType({q.instrument.symbol: q for q in quotes}))

    def expiries(self, now: datetime) -> tuple[datetime, ...]:
        """Distinct expiry moments not yet reached, soonest first."""
        return tuple(sorted(e for e in self._by_expiry() if e > now))

    def at_expiry(
        self, expiry: datetime, kind: OptionKind | None = None
    ) -> tuple[OptionQuote, ...]:
        """The options of one expiry, by ascending strike."""
        key = (expiry, kind)
        found = self._index.get(key)
        if found is None:
            chosen = (q for q in self._by_expiry().get(expiry, ())
                      if kind is None or q.instrument.kind is kind)
            found = self._index[key] = tuple(sorted(chosen, key=_STRIKE))
        return found  # type: ignore[return-value]

    def ladder(self, expiry: datetime, kind: OptionKind) -> StrikeLadder:
        """The active options of one expiry and kind by ascending strike (made once)."""
        key = ("ladder", expiry, kind)
        found = self._index.get(key)
        if found is None:
            active = tuple(q for q in self.at_expiry(expiry, kind) if q.instrument.is_active)
            found = self._index[key] = StrikeLadder(active)
        return found  # type: ignore[return-value]

    def _by_expiry(self) -> dict[datetime, list[OptionQuote]]:
        grouped = self._index.get(None)
        if grouped is None:
            grouped = {}
            for quote in self.quotes.values():  # the one pass over the whole chain
                expiry = quote.instrument.expiry
                same = grouped.get(expiry)
                if same is None:
                    grouped[expiry] = [quote]
                else:
                    same.append(quote)
            self._index[None] = grouped
        return grouped  # type: ignore[return-value]


_UNSEEN: Final = object()
Top = tuple[Decimal | None, Decimal | None, Decimal | None]  # bid, ask, mark


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Everything read in one tick. `None` fields are reads that failed this tick."""

    at: datetime
    index_prices: Mapping[Underlying, Decimal] = field(default_factory=dict)
    chains: Mapping[Underlying, Chain] = field(default_factory=dict)
    books: Mapping[str, Book] = field(default_factory=dict)
    account: Account | None = None
    positions: tuple[Position, ...] | None = None
    open_orders: tuple[Order, ...] | None = None
    failures: tuple[str, ...] = ()
    # Every expiry the instrument list shows per underlying (not only the chains fetched):
    # lets the engine tell "this expiry's chain was not fetched" from "not listed".
    listed_expiries: Mapping[Underlying, tuple[datetime, ...]] = field(default_factory=dict)
    # Ticks learned from the exchange's own order prices, coarser than the listed ones
    # (instruments.learned_tick): the service remembers them per symbol and lends them here.
    learned_ticks: Mapping[str, Decimal] = field(default_factory=dict)
    # Filled as asked, never part of equality: symbol -> its chain quote or None (`quote`),
    # symbol -> (bid, ask, mark) (`top_of_book`).
    _quotes: dict[str, OptionQuote | None] = field(default_factory=dict, init=False,
                                                   repr=False, compare=False)
    _tops: dict[str, Top] = field(default_factory=dict, init=False, repr=False, compare=False)
    # Figures the layers above derive from the whole snapshot, once per tick (`derived`).
    _derived: dict[str, object] = field(default_factory=dict, init=False, repr=False,
                                        compare=False)

    def index_price(self, underlying: Underlying) -> Decimal | None:
        return self.index_prices.get(underlying)

    def derived(self, name: str, work_out: Callable[[MarketSnapshot], T]) -> T:
        """`work_out(self)`, remembered under `name` for this snapshot: a figure of the
        whole snapshot (the account delta) that every strategy of the tick reads once."""
        try:
            return self._derived[name]  # type: ignore[return-value]
        except KeyError:
            found = self._derived[name] = work_out(self)
            return found

    def quote(self, symbol: str) -> OptionQuote | None:
        """The chain quote of `symbol` this tick, or None (remembered per symbol: every
        strategy's exits ask for the legs they hold, several times a tick)."""
        found = self._quotes.get(symbol, _UNSEEN)
        if found is _UNSEEN:
            found = next((q for chain in self.chains.values()
                          if (q := chain.quotes.get(symbol)) is not None), None)
            self._quotes[symbol] = found
        return found  # type: ignore[return-value]

    def top_of_book(self, symbol: str) -> Top:
        """(bid, ask, mark) of one instrument this tick, None for what is missing: the best
        levels of its book when the tick fetched it (fresher: the executors' source), else
        the chain quote's; the mark always the chain quote's. Remembered per symbol: every
        PnL rule of every held trade prices its legs from it."""
        found = self._tops.get(symbol)
        if found is None:
            quote = self.quote(symbol)
            book = self.books.get(symbol)
            if book is not None:
                found = (book.best_bid, book.best_ask, quote.mark if quote is not None else None)
            elif quote is None:
                found = (None, None, None)
            else:
                found = (quote.bid, quote.ask, quote.mark)
            self._tops[symbol] = found
        return found

    def position(self, symbol: str) -> Position | None:
        """The position in `symbol`; raises LookupError when positions were not read."""
        if self.positions is None:
            raise LookupError("positions were not read this tick")
        return next((p for p in self.positions if p.symbol == symbol), None)

    @property
    def net_delta(self) -> float | None:
        """Sum of the exchange's position deltas, as sent (for display, never decided on);
        None when positions were not read."""
        if self.positions is None:
            return None
        return sum(p.greeks.delta for p in self.positions if p.greeks)
