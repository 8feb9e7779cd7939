"""Fixtures' building blocks for dispatcher tests: a simulated venue and wrappers around it."""

from __future__ import annotations

import sqlite3
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.domain.orders import Order, OrderRequest
from runner.domain.snapshot import OptionQuote
from runner.sim.venue import SimVenue


def liquid_call(venue: SimVenue) -> OptionQuote:
    """An out-of-the-money call of the nearest expiry with both sides quoted."""
    chain = venue.option_chain(Underlying.BTC)
    nearest = min(q.instrument.expiry for q in chain)
    candidates = [q for q in chain if q.instrument.expiry == nearest and q.bid and q.ask
                  and q.delta is not None and 0.2 < q.delta < 0.6]
    return candidates[0]


def resting_buy_price(quote: OptionQuote) -> Decimal:
    """A buy price far below the bid: the order rests and never fills."""
    return max(Decimal(1), (quote.bid or Decimal(2)) // 4)


def resting_sell_price(quote: OptionQuote) -> Decimal:
    """A sell price far above the ask: the order rests and never fills."""
    return (quote.ask or Decimal(1)) * 3


def crossing_buy_price(quote: OptionQuote) -> Decimal:
    return (quote.ask or Decimal(0)) * 2


class CountingExchange:
    """Passes every call through to the venue and counts calls by method name."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return target(*args, **kwargs)

        return counted


class InspectingExchange(CountingExchange):
    """Reads the store file through its own connection each time an order is placed.

    A separate connection sees only committed data, so what it finds proves the intent
    was committed before the exchange was called.
    """

    def __init__(self, inner: Any, store_path: Path) -> None:
        super().__init__(inner)
        self._path = store_path
        self.seen_at_send: list[tuple[str, int] | None] = []

    def place_order(self, request: OrderRequest) -> int:
        with sqlite3.connect(self._path) as reader:
            row = reader.execute("SELECT status, send_attempts FROM orders WHERE"
                                 " client_order_id = ?", (request.client_order_id,)).fetchone()
        self.seen_at_send.append(None if row is None else (row[0], row[1]))
        return self._inner.place_order(request)


class SlowToShowExchange(CountingExchange):
    """An exchange whose new orders are invisible to every read for a while (D2)."""

    def __init__(self, inner: Any, clock: ManualClock, hidden_for_s: float) -> None:
        super().__init__(inner)
        self._clock = clock
        self._hidden_for_s = hidden_for_s
        self._placed_at: dict[int, Any] = {}

    def place_order(self, request: OrderRequest) -> int:
        order_id = self._inner.place_order(request)
        self._placed_at[request.client_order_id] = self._clock.now()
        return order_id

    def _hidden(self, order: Order | None) -> bool:
        if order is None or order.client_order_id not in self._placed_at:
            return False
        age = self._clock.now() - self._placed_at[order.client_order_id]
        return age.total_seconds() < self._hidden_for_s

    def open_orders(self, underlying: Underlying | None = None) -> list[Order]:
        self.calls["open_orders"] += 1
        return [o for o in self._inner.open_orders(underlying) if not self._hidden(o)]

    def get_order(self, **kwargs: Any) -> Order | None:
        self.calls["get_order"] += 1
        found = self._inner.get_order(**kwargs)
        return None if self._hidden(found) else found


def venue_orders(venue: SimVenue) -> list[Any]:
    return [o for o in venue.order_records() if o.client_order_id is not None]


def make_venue(clock: ManualClock, seed: int = 0) -> SimVenue:
    return SimVenue(clock, seed=seed)
