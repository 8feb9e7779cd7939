"""The exit figures are the chain rows' numbers exactly (issue 12: the exit screen).

The exit screen (service/exit_screen.py) reads a held leg's mark, bid, ask and greeks as
plain numbers (`SimVenue.exit_figures`, quotes.quote_figures) instead of making its chain
row. A quote is a pure function of (instrument, index, second, seed, emptied sides), so
the figures must be that row's to the last bit: given two venues of the same seed, one
read by figures and one by rows, every option of both underlyings at many seconds (a
frozen feed and emptied book sides included) shows the same numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.domain.snapshot import OptionQuote
from runner.sim.quotes import QuoteFigures
from runner.sim.venue import SimVenue

START = datetime(2026, 3, 2, tzinfo=UTC)
SECONDS = (7, 30, 59, 3_600 + 30, 8 * 3_600 - 1, 8 * 3_600 + 45, 86_400 + 12 * 3_600 + 30,
           3 * 86_400 + 7 * 3_600 + 59 * 60 + 59, 9 * 86_400 + 21 * 3_600 + 17)


def _as_figures(quote: OptionQuote) -> QuoteFigures:
    """The row's numbers in the figures' units (cents), exactly."""
    def cents(price: Decimal | None) -> int | None:
        if price is None:
            return None
        scaled = price * 100
        assert scaled == scaled.to_integral_value()
        return int(scaled)
    greeks = quote.greeks
    assert greeks is not None
    assert quote.mark is not None
    return QuoteFigures(cents(quote.mark), cents(quote.bid), cents(quote.ask), greeks.delta,
                        greeks.gamma, greeks.vega, greeks.theta)


def _pair() -> tuple[SimVenue, SimVenue, ManualClock]:
    clock = ManualClock(START)
    return SimVenue(clock, seed=3), SimVenue(clock, seed=3), clock


@pytest.mark.parametrize("underlying", [Underlying.BTC, Underlying.ETH])
def test_the_figures_of_every_option_are_its_chain_row_at_many_seconds(
        underlying: Underlying) -> None:
    by_figures, by_rows, clock = _pair()
    compared = 0
    for offset in SECONDS:
        clock.set(START + timedelta(seconds=offset))
        rows = by_rows.option_chain(underlying)
        figures, indices = by_figures.exit_figures([row.symbol for row in rows], [underlying])
        assert indices[underlying] == pytest.approx(float(by_rows.index_price(underlying)),
                                                    abs=0.005)
        assert set(figures) == {row.symbol for row in rows}
        for row in rows:
            assert figures[row.symbol] == _as_figures(row), (offset, row.symbol)
            compared += 1
    assert compared > 1_000


def test_emptied_sides_and_a_frozen_feed_show_in_the_figures_as_in_the_rows() -> None:
    by_figures, by_rows, clock = _pair()
    clock.set(START + timedelta(hours=2))
    symbols = [row.symbol for row in by_rows.option_chain(Underlying.BTC)][:40]
    for venue in (by_figures, by_rows):
        venue.empty_book_side(symbols[3], Side.BUY)
        venue.empty_book_side(symbols[4], Side.SELL)
        venue.freeze_prices(Underlying.BTC)
    for offset in (0, 17, 95):
        clock.set(START + timedelta(hours=2, seconds=offset))
        figures, _ = by_figures.exit_figures(symbols, [])
        rows = {q.symbol: q for q in by_rows.option_quotes(symbols)}
        assert figures[symbols[3]].bid is None
        assert figures[symbols[4]].ask is None
        for symbol in symbols:
            assert figures[symbol] == _as_figures(rows[symbol])


def test_an_option_already_priced_this_second_gives_the_same_figures() -> None:
    venue, fresh, clock = _pair()
    clock.set(START + timedelta(hours=30, seconds=30))
    symbols = [row.symbol for row in venue.option_chain(Underlying.BTC)][::7]
    venue.option_quotes(symbols)  # priced as rows first: the figures read those states
    assert venue.exit_figures(symbols, []) == fresh.exit_figures(symbols, [])


def test_an_unknown_or_expired_option_is_left_out() -> None:
    venue, _, clock = _pair()
    expiring = min(venue.option_chain(Underlying.BTC), key=lambda q: q.instrument.expiry)
    clock.set(expiring.instrument.expiry + timedelta(minutes=1))
    figures, _ = venue.exit_figures([expiring.symbol, "BTCUSD-1JAN20-1000-C"], [])
    assert figures == {}
