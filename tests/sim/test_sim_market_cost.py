"""The simulated market costs what is read and holds what is listed (issue 12 items 2, 3).

Over a year of a strategy book the venue is asked about a few options at many moments:
each option is priced once per second however many readers ask (a chain row, one symbol,
the positions, matching), the index once per second, and a path or a listing never grows
with the length of the run: what expired is forgotten, and the index keeps a week of its
walk. None of it changes a number (the pinned figures are in test_sim_lazy_chain.py).
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.domain.orders import OrderRequest, Side
from runner.sim.config import SimConfig
from runner.sim.index import IndexPath
from runner.sim.market import Market, epoch_second
from runner.sim.venue import SimVenue

START = datetime(2026, 3, 2, tzinfo=UTC)


def _listed_symbols(market: Market) -> set[str]:
    return {i.symbol for u in Underlying for i in market.instruments(u)}


def _buy(venue: SimVenue, symbol: str) -> None:
    """Buy 0.1 at the ask (filled at once)."""
    [quote] = venue.option_quotes([symbol])
    assert quote.ask is not None
    venue.set_cash(Decimal(1_000_000))
    venue.place_order(OrderRequest(symbol, Side.BUY, Decimal("0.1"), quote.ask,
                                   client_order_id=1))


def test_an_option_is_priced_once_per_second_whoever_reads_it() -> None:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    symbol = venue.instruments(Underlying.BTC)[40].symbol
    _buy(venue, symbol)
    clock.set(START + timedelta(hours=3, seconds=17))
    market = venue._market  # the count of options priced is the subject
    before = market.options_priced
    [quote] = venue.option_quotes([symbol])
    assert market.options_priced == before + 1
    venue.positions()
    venue.orderbook(symbol)
    row = next(q for q in venue.option_chain(Underlying.BTC) if q.symbol == symbol)
    assert row.mark == quote.mark
    assert market.options_priced == before + 1
    clock.advance(timedelta(seconds=1))
    venue.option_quotes([symbol])
    assert market.options_priced == before + 2


def test_the_index_is_computed_once_per_second() -> None:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    clock.set(START + timedelta(minutes=5, seconds=31))
    path = venue._market.paths[Underlying.BTC]
    before = path.prices_computed
    first = venue.index_price(Underlying.BTC)
    venue.option_quotes([i.symbol for i in venue.instruments(Underlying.BTC)[:6]])
    assert venue.index_price(Underlying.BTC) == first
    assert path.prices_computed == before + 1


def test_a_bridge_drawn_as_far_as_asked_then_further_is_the_one_drawn_at_once() -> None:
    """The seconds of a block are drawn only up to the one asked; a later second continues
    the same draws (whichever order, the path is the one it always was)."""
    stepwise = IndexPath(seed=3, name="BTC", start_second=0, start_price=87_000.0,
                         annual_vol=0.5)
    at_once = IndexPath(seed=3, name="BTC", start_second=0, start_price=87_000.0,
                        annual_vol=0.5)
    last = at_once.price(60 * 7 + 59)
    seconds = [60 * 7 + s for s in (3, 1, 17, 40, 59)]
    assert [stepwise.price(s) for s in seconds] == [at_once.price(s) for s in seconds]
    assert stepwise.price(60 * 7 + 59) == last


def test_the_index_path_holds_a_bounded_window_and_replays_an_older_second_exactly() -> None:
    windowed = IndexPath(seed=3, name="ETH", start_second=0, start_price=3000.0,
                         annual_vol=0.65, kept_blocks=10)
    whole = IndexPath(seed=3, name="ETH", start_second=0, start_price=3000.0,
                      annual_vol=0.65, kept_blocks=10**9)
    seconds = [60 * block + inside for block in range(0, 600, 13) for inside in (0, 29)]
    assert [windowed.price(s) for s in seconds] == [whole.price(s) for s in seconds]
    assert windowed.blocks_held <= 20 < whole.blocks_held
    assert windowed.price(60 * 3 + 11) == whole.price(60 * 3 + 11)  # long dropped: replayed


def test_over_many_expiries_the_market_holds_only_the_listed_instruments() -> None:
    """Three weeks of daily rolls list and expire dozens of expiries; the maps by symbol
    keep only those still listed (an expired instrument was settled at its roll)."""
    market = Market(SimConfig(), seed=3, start=START)
    first_day = len(market.held_symbols())
    expired: set[str] = set()
    for day in range(1, 22):
        moment = START + timedelta(days=day, hours=8)
        expired.update(i.symbol for i in market.roll(moment))
        market.state(next(iter(_listed_symbols(market))), epoch_second(moment))
    assert len(expired) > first_day  # more expired than was ever listed at once
    assert market.held_symbols() == _listed_symbols(market)
    assert not expired & market.held_symbols()
    assert len(market.held_symbols()) < 1.5 * first_day
    gone = next(iter(expired))
    assert market.instrument(gone) is None
    assert market.state(gone, epoch_second(START + timedelta(days=22))) is None


def test_a_venue_settles_a_position_and_then_forgets_its_instrument() -> None:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    nearest = min(i.expiry for i in venue.instruments(Underlying.BTC))
    symbol = next(i.symbol for i in venue.instruments(Underlying.BTC) if i.expiry == nearest)
    _buy(venue, symbol)
    assert [p.symbol for p in venue.positions()] == [symbol]
    clock.set(nearest + timedelta(minutes=1))
    assert venue.positions() == []
    assert [e.symbol for e in venue.exercises(START)] == [symbol]
    assert venue.option_quotes([symbol]) == []
    assert symbol not in venue._market.held_symbols()


def test_an_expiry_the_cache_lets_go_of_is_freed_at_once_not_by_the_cyclic_collector() -> None:
    """Its rows do not point back at it: a year of steps leaves no garbage waiting for
    the collector (it counted in the peak memory)."""
    market = Market(SimConfig(), seed=3, start=START)
    expiry = market.expiries(Underlying.BTC)[0]
    gc.collect()
    gc.disable()
    try:
        rows = market.expiry_quotes(Underlying.BTC, expiry, epoch_second(START) + 5)
        assert rows[10].mark is not None
        del rows
        market.invalidate()
        assert gc.collect() == 0
    finally:
        gc.enable()
