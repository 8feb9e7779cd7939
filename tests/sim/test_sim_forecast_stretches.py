"""The venue's look-ahead passes over stretches no resting order can fill in, exactly.

`first_fill` (sim/forecast.py) does not price every second: where the market's bounds
over a stretch keep each order's price short of the opposite best price it passes over
the stretch whole, and elsewhere it prices each second's best prices alone, asking the
matcher only when one crosses. Given orders resting at many distances from the book,
over two hours, it names the first second a search pricing every second's whole book
finds (before any fill the taken liquidity is none: an order fills when the opposite
best price reaches it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.sim.forecast import VenueForecast
from runner.sim.venue import SimVenue
from tests.sim.helpers_sim import near_money, order

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
UNTIL = START + timedelta(hours=2)


def first_cross_each_second(forecast: VenueForecast, orders: list[tuple[str, Side, Decimal]],
                            until: datetime) -> datetime | None:
    symbols = sorted({symbol for symbol, _, _ in orders})
    at = START + SECOND
    while at <= until:
        books = forecast.books_at(symbols, at)
        for symbol, side, price in orders:
            book = books.get(symbol)
            best = None if book is None else (book.best_ask if side is Side.BUY
                                               else book.best_bid)
            if best is not None and (best <= price if side is Side.BUY else best >= price):
                return at
        at += SECOND
    return None


@pytest.mark.parametrize(("seed", "underlying", "kind", "side"), [
    (3, Underlying.BTC, OptionKind.PUT, Side.BUY), (4, Underlying.BTC, OptionKind.CALL, Side.SELL),
    (2, Underlying.ETH, OptionKind.CALL, Side.BUY), (6, Underlying.ETH, OptionKind.PUT, Side.SELL)])
def test_a_resting_order_fills_at_the_second_a_search_of_every_book_finds(
        seed: int, underlying: Underlying, kind: OptionKind, side: Side) -> None:
    """One order at a time, from one tick off the book to many: the same first second,
    or none within the two hours; and two orders at once (either may fill first)."""
    venue = SimVenue(ManualClock(START), seed=seed)
    quote = near_money(venue, kind, underlying=underlying, offset=1)
    tick = quote.instrument.tick_size
    found = []
    for ticks in (1, 3, 10, 30, 100, 300, 1000):
        venue = SimVenue(ManualClock(START), seed=seed)
        assert quote.ask is not None
        assert quote.bid is not None
        price = max(tick, quote.ask - ticks * tick) if side is Side.BUY \
            else quote.bid + ticks * tick
        venue.place_order(order(quote.symbol, side, "0.1", price))
        forecast = venue.order_forecast()
        expected = first_cross_each_second(forecast, [(quote.symbol, side, price)], UNTIL)
        assert forecast.first_fill(UNTIL) == expected, ticks
        found.append(expected)
    assert any(moment is not None and moment > START + timedelta(minutes=2)
               for moment in found)  # a long wait
    venue = SimVenue(ManualClock(START), seed=seed)
    other = near_money(venue, kind, underlying=underlying, offset=-2)
    assert other.bid is not None
    assert other.ask is not None
    away = 6 * tick
    pair = [(quote.symbol, side, quote.ask - away if side is Side.BUY else quote.bid + away),
            (other.symbol, side.opposite,
             other.bid + away if side is Side.BUY else other.ask - away)]
    for symbol, order_side, price in pair:
        venue.place_order(order(symbol, order_side, "0.1", price))
    forecast = venue.order_forecast()
    assert forecast.first_fill(UNTIL) == first_cross_each_second(forecast, pair, UNTIL)
