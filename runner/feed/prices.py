"""The in-memory price cache that WebSocket pushes land in (thread-safe).

The feed thread writes, the service loop reads. Every entry remembers when it arrived
(monotonic seconds) and the exchange's own `ts` (epoch ms):
- an entry older than `stale_after` seconds is never handed out: the reader then falls
  back to REST, so no decision is ever made on a stale pushed price. Its age counts from
  the moment the price was true, not from its arrival: a push whose `ts` was already
  behind the local clock (`wall_ms`) when it arrived is aged by that lag, so a lagging
  socket (frames delivered late but steadily, heartbeats answered) never passes an old
  price for a fresh one. A local clock ahead of the exchange ages every push by the skew
  (safe: more REST reads); one behind it cannot make a push younger than its arrival;
- a message whose `ts` is older than the entry already held for the same key arrived out
  of order and is dropped (it would move the price backwards in time).
Listeners are called (on the feed thread) after each accepted update; the reaction to a
price crossing uses that to wake the loop, never to decide on the feed thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Generic, TypeVar

from runner.domain.instruments import Underlying
from runner.domain.snapshot import Book

DEFAULT_STALE_AFTER: Final = 5.0  # seconds; a feed silent that long counts as stale

T = TypeVar("T")
Listener = Callable[[str, Hashable], None]  # (kind, key) of the entry that changed


@dataclass(frozen=True, slots=True)
class TickerRow:
    """One option of a `tOption` push: top of book, mark, IV and greeks (per coin)."""

    symbol: str
    bid: Decimal | None  # None = empty side (Coincall sends 0)
    bid_size: Decimal
    ask: Decimal | None
    ask_size: Decimal
    mark: Decimal | None
    mark_iv: float | None
    delta: float | None
    gamma: float
    vega: float
    theta: float
    underlying_price: Decimal | None


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    value: T
    exchange_ms: int
    received: float  # time.monotonic() at arrival
    born: float  # the monotonic moment the price was true: `received` less its lag


@dataclass(slots=True)
class FeedCounters:
    """What the feed did, for tests, benchmarks and the health of the feed."""

    accepted: int = 0
    out_of_order: int = 0
    late: int = 0  # accepted pushes already older than `stale_after` when they arrived
    served: int = 0  # reads answered from the cache
    fell_back: int = 0  # reads that found nothing fresh and went to REST
    by_kind: dict[str, int] = field(default_factory=dict)


def _epoch_ms_now() -> int:
    return int(time.time() * 1000)


class PriceCache:
    """Index prices, books and option tickers by key; fresh-only reads."""

    def __init__(self, stale_after: float = DEFAULT_STALE_AFTER,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = _epoch_ms_now) -> None:
        if stale_after <= 0:
            raise ValueError("stale_after must be positive")
        self.stale_after = stale_after
        self._monotonic = monotonic
        self._wall_ms = wall_ms
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, Hashable], Entry[object]] = {}
        self._listeners: list[Listener] = []
        self.counters = FeedCounters()

    # -- writing (feed thread) ---------------------------------------------------------
    def on_update(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def put_index(self, underlying: Underlying, price: Decimal, exchange_ms: int) -> bool:
        return self._put("index", underlying, price, exchange_ms)

    def put_book(self, book: Book, exchange_ms: int) -> bool:
        return self._put("book", book.symbol, book, exchange_ms)

    def put_tickers(self, rows: tuple[TickerRow, ...], exchange_ms: tuple[int, ...]) -> int:
        """Each row of a `tOption` push under its own symbol, with its own time; returns
        how many were newer."""
        return sum(self._put("ticker", row.symbol, row, ms)
                   for row, ms in zip(rows, exchange_ms, strict=True))

    def _put(self, kind: str, key: Hashable, value: object, exchange_ms: int) -> bool:
        with self._lock:
            held = self._entries.get((kind, key))
            if held is not None and exchange_ms < held.exchange_ms:
                self.counters.out_of_order += 1
                return False
            arrived = self._monotonic()
            lag = max(0.0, (self._wall_ms() - exchange_ms) / 1000)
            self._entries[(kind, key)] = Entry(value, exchange_ms, arrived, arrived - lag)
            self.counters.accepted += 1
            self.counters.late += lag > self.stale_after
            self.counters.by_kind[kind] = self.counters.by_kind.get(kind, 0) + 1
        for listener in list(self._listeners):
            listener(kind, key)
        return True

    # -- reading (loop thread) ---------------------------------------------------------
    def index(self, underlying: Underlying) -> Decimal | None:
        return self._fresh("index", underlying, Decimal)

    def book(self, symbol: str) -> Book | None:
        return self._fresh("book", symbol, Book)

    def ticker(self, symbol: str) -> TickerRow | None:
        return self._fresh("ticker", symbol, TickerRow)

    def age(self, kind: str, key: Hashable) -> float | None:
        """Seconds since the entry arrived; None when there is none."""
        with self._lock:
            held = self._entries.get((kind, key))
        return None if held is None else self._monotonic() - held.received

    def stamp(self, kind: str, key: Hashable) -> int | None:
        """The exchange's `ts` (epoch ms) of the entry held; None when there is none."""
        with self._lock:
            held = self._entries.get((kind, key))
        return None if held is None else held.exchange_ms

    def note_read(self, served: bool) -> None:
        with self._lock:
            if served:
                self.counters.served += 1
            else:
                self.counters.fell_back += 1

    def _fresh(self, kind: str, key: Hashable, expected: type[T]) -> T | None:
        with self._lock:
            held = self._entries.get((kind, key))
        if held is None or self._monotonic() - held.born > self.stale_after:
            return None
        value = held.value
        return value if isinstance(value, expected) else None
