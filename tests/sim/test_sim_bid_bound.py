"""Whole stretches without a bid are proven from the index's range, never wrongly.

A simulation steps over the seconds at which a close's leg still has no bid (lessons B6:
it is tried every tick until it has one). The venue's forecast rules out a stretch at
once only when no second of it can show a bid; these tests price every second of many
stretches, for calls and puts of every listed expiry, far from and near the money, and
expect: wherever a stretch is ruled out, no second of it shows a bid; far out of the money
most stretches are ruled out (the proof is not empty).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.sim.market import epoch_second
from runner.sim.venue import SimVenue

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STRETCH = timedelta(minutes=1)
SEED = 4


def bidless_options(venue: SimVenue, underlying: Underlying) -> list[str]:
    """Every listed option whose book shows no bid now."""
    return [quote.symbol for quote in venue.option_chain(underlying) if quote.bid is None]


def shows_a_bid(symbol: str, first: datetime, last: datetime) -> bool:
    """Read every second of the stretch on a twin venue, as a tick would read it."""
    clock = ManualClock(START)
    twin = SimVenue(clock, seed=SEED)
    for second in range(epoch_second(first), epoch_second(last) + 1):
        clock.set(datetime.fromtimestamp(second, tz=UTC))
        if any(quote.bid is not None for quote in twin.option_quotes([symbol])):
            return True
    return False


@pytest.mark.parametrize("underlying", [Underlying.BTC, Underlying.ETH])
def test_a_stretch_is_ruled_out_only_when_no_second_of_it_shows_a_bid(
        underlying: Underlying) -> None:
    venue = SimVenue(ManualClock(START), seed=SEED)
    symbols = bidless_options(venue, underlying)
    assert len(symbols) > 20
    forecast = venue.order_forecast()
    ruled_out = tried = 0
    for number, symbol in enumerate(symbols[::3]):
        first = START + timedelta(seconds=1 + 97 * number)
        last = first + STRETCH
        tried += 1
        if forecast.no_bid_throughout(symbol, first, last):
            ruled_out += 1
            assert not shows_a_bid(symbol, first, last), symbol
    assert ruled_out > tried // 2  # far from the money, most stretches are proven bidless


def test_an_option_with_a_bid_is_never_ruled_out() -> None:
    venue = SimVenue(ManualClock(START), seed=SEED)
    forecast = venue.order_forecast()
    with_bids = [quote.symbol for quote in venue.option_chain(Underlying.BTC)
                 if quote.bid is not None]
    assert with_bids
    for symbol in with_bids[::5]:
        assert not forecast.no_bid_throughout(symbol, START, START + STRETCH), symbol


def test_near_expiry_or_unlisted_nothing_is_ruled_out() -> None:
    venue = SimVenue(ManualClock(START), seed=SEED)
    forecast = venue.order_forecast()
    soonest = min(quote.instrument.expiry for quote in venue.option_chain(Underlying.BTC))
    (symbol, *_) = [quote.symbol for quote in venue.option_chain(Underlying.BTC)
                    if quote.instrument.expiry == soonest and quote.bid is None
                    and quote.instrument.kind is OptionKind.CALL]
    last = soonest - timedelta(seconds=30)
    assert not forecast.no_bid_throughout(symbol, last - STRETCH, last)
    assert not forecast.no_bid_throughout("BTCUSD-1JAN20-50000-C", START, START + STRETCH)


def test_a_stretch_holding_a_second_already_priced_is_not_bounded() -> None:
    """At a second the market has priced already, `Market.figures` reads the option's
    priced state, so a screen is told to read each check there instead of trusting bounds
    of the pricing alone (`figure_bounds` answers None)."""
    venue = SimVenue(ManualClock(START), seed=SEED)
    market = venue._market
    symbol = venue.option_chain(Underlying.BTC)[0].symbol  # prices START's second
    second = epoch_second(START)
    assert market.figure_bounds([symbol], range(second + 1, second + 61)) is not None
    assert market.figure_bounds([symbol], range(second, second + 61)) is None
    assert market.figure_bounds([symbol], [second + 30, second]) is None
