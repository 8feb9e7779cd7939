"""Reading the market once per tick into one immutable snapshot for every strategy.

What is read is the union of what the strategies need (`MarketNeeds`), never one read
per strategy, so REST calls per tick stay flat as strategies are added (design
decision 2); `read_plan` decides what is needed each tick, and what it leaves out is
absent (None), as a failed read is. A read that fails is recorded as a failure and left
`None` (or absent for index prices and chains): the engine then refuses the rules that
need it, it never sees an empty portfolio or a substituted constant (lessons C2, C5).
The open orders the tick's order poll has just read are used as they are (`polled`),
not read a second time: one open-orders read a tick (issue 11). `with_chains` is the
narrow second read of a tick: the chains a close decided in it needs and the planned
read left out (read once per moment, however many closes need them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from runner.dispatch.poll import OpenOrdersRead
from runner.domain.instruments import Instrument, Underlying
from runner.domain.orders import Order
from runner.domain.snapshot import Book, Chain, MarketSnapshot, OptionQuote
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MarketNeeds:
    """The union of what this tick's strategies and executions must see."""

    underlyings: frozenset[Underlying] = frozenset()
    chains: frozenset[tuple[Underlying, datetime]] = frozenset()
    books: frozenset[str] = frozenset()
    account: bool = True
    positions: bool = True
    open_orders: bool = True

    def merged(self, other: MarketNeeds) -> MarketNeeds:
        return MarketNeeds(self.underlyings | other.underlyings, self.chains | other.chains,
                           self.books | other.books, self.account or other.account,
                           self.positions or other.positions,
                           self.open_orders or other.open_orders)


@dataclass(slots=True)
class ReadCounter:
    """How many port calls the reader made (benchmarks: calls per tick must stay flat)."""

    calls: int = 0
    by_method: dict[str, int] = field(default_factory=dict)

    def count(self, method: str) -> None:
        self.calls += 1
        self.by_method[method] = self.by_method.get(method, 0) + 1


class SnapshotReader:
    """Builds a `MarketSnapshot` from the exchange port; never raises for a failed read."""

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self.counter = ReadCounter()
        # The moment `with_chains` last read for, the chains it tried and those it got.
        self._added_at: datetime | None = None
        self._tried: set[tuple[Underlying, datetime]] = set()
        self._added: dict[Underlying, Chain] = {}
        # underlying -> (the instrument list last read, its expiries ascending): the list
        # changes at a roll, while every tick asks for its expiries (`listed_expiries`).
        self._expiries: dict[Underlying, tuple[tuple[Instrument, ...], tuple[datetime, ...]]] = {}

    def listed_instruments(self, underlying: Underlying) -> tuple[Instrument, ...] | None:
        """The instrument list (cached by the adapter); None when it cannot be read."""
        failures: list[str] = []
        found = self._read(f"instruments {underlying}", failures,
                           lambda: self._exchange.instruments(underlying))
        return tuple(found) if found is not None else None

    def listed_expiries(self, underlying: Underlying, now: datetime) -> tuple[datetime, ...]:
        """The listed expiries after `now`, ascending (the list read every call; its
        expiries worked out again only when it is not the list read last time)."""
        instruments = self.listed_instruments(underlying) or ()
        known = self._expiries.get(underlying)
        if known is None or known[0] != instruments:  # the same objects: a pointer compare
            known = self._expiries[underlying] = (
                instruments, tuple(sorted({i.expiry for i in instruments})))
        return tuple(e for e in known[1] if e > now)

    def read(self, needs: MarketNeeds, now: datetime,
             listed: Mapping[Underlying, tuple[datetime, ...]] | None = None, *,
             polled: OpenOrdersRead | None = None) -> MarketSnapshot:
        """Read everything `needs` asks for, once; failures are listed, never raised.

        `listed` is the instrument list's expiries per underlying, when the caller has
        read it already this tick (it tells "chain not fetched" from "not listed");
        `polled` the open orders the order poll read this tick (used, not read again).
        """
        failures: list[str] = []
        index_prices = self._index_prices(needs.underlyings, failures)
        chains = self._chains(needs.chains, failures)
        books = self._books(needs.books, failures)
        account = (self._read("account", failures, self._exchange.account)
                   if needs.account else None)
        positions = (self._read("positions", failures, self._exchange.positions)
                     if needs.positions else None)
        open_orders = self._open_orders(polled, failures) if needs.open_orders else None
        return MarketSnapshot(
            at=now, index_prices=index_prices, chains=chains, books=books, account=account,
            positions=tuple(positions) if positions is not None else None,
            open_orders=tuple(open_orders) if open_orders is not None else None,
            failures=tuple(failures),
            listed_expiries=dict(listed or {}),
        )

    def with_chains(self, snapshot: MarketSnapshot,
                    wanted: Iterable[tuple[Underlying, datetime]]) -> MarketSnapshot:
        """`snapshot` with the chains of `wanted` read now and laid in beside its own.

        What was already tried for this moment (`snapshot.at`) is not read again; a failed
        read is listed in the failures and leaves the chain absent (C2, C5)."""
        if self._added_at != snapshot.at:
            self._added_at, self._tried, self._added = snapshot.at, set(), {}
        missing = set(wanted) - self._tried
        if missing:
            self._tried |= missing
            failures = list(snapshot.failures)
            for underlying, chain in self._chains(missing, failures).items():
                self._added[underlying] = _merged(self._added.get(underlying), chain)
            snapshot = replace(snapshot, failures=tuple(failures))
        if not self._added:
            return snapshot
        chains = dict(snapshot.chains)
        for underlying, chain in self._added.items():
            chains[underlying] = _merged(chains.get(underlying), chain)
        return replace(snapshot, chains=chains)

    def _open_orders(self, polled: OpenOrdersRead | None,
                     failures: list[str]) -> list[Order] | tuple[Order, ...] | None:
        """The poll's read when it made one this tick (its failure too: C5), else a read."""
        if polled is None:
            return self._read("open orders", failures, self._exchange.open_orders)
        if polled.orders is None:
            failures.append(f"open orders: {polled.error}")
        return polled.orders

    def _index_prices(self, underlyings: Iterable[Underlying],
                      failures: list[str]) -> dict[Underlying, Decimal]:
        prices: dict[Underlying, Decimal] = {}
        for underlying in sorted(underlyings):
            price = self._read(f"index {underlying}", failures,
                               lambda u=underlying: self._exchange.index_price(u))
            if price is not None and price > 0:
                prices[underlying] = price
        return prices

    def _chains(self, wanted: Iterable[tuple[Underlying, datetime]],
                failures: list[str]) -> dict[Underlying, Chain]:
        quotes: dict[Underlying, list[OptionQuote]] = {}
        for underlying, expiry in sorted(wanted):
            rows = self._read(f"chain {underlying} {expiry:%Y-%m-%d}", failures,
                              lambda u=underlying, e=expiry: self._exchange.option_chain(
                                  u, e, fresh=True))
            if rows is not None:
                quotes.setdefault(underlying, []).extend(rows)
        return {underlying: Chain.of(underlying, rows) for underlying, rows in quotes.items()}

    def _books(self, symbols: Iterable[str], failures: list[str]) -> dict[str, Book]:
        books: dict[str, Book] = {}
        for symbol in sorted(symbols):
            book = self._read(f"book {symbol}", failures,
                              lambda s=symbol: self._exchange.orderbook(s, fresh=True))
            if book is not None:
                books[symbol] = book
        return books

    def _read(self, what: str, failures: list[str], call: Callable[[], T]) -> T | None:
        self.counter.count(what.split(" ")[0])
        try:
            return call()
        except ExchangeError as error:
            failures.append(f"{what}: {error}")
            return None


def _merged(old: Chain | None, new: Chain) -> Chain:
    """Both chains' quotes, the newer winning for a symbol in both."""
    if old is None:
        return new
    return Chain.of(new.underlying, [*old.quotes.values(), *new.quotes.values()])
