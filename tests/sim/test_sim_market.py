"""The simulated market: a deterministic index walk, Coincall's expiry calendar, listings."""

from __future__ import annotations

import itertools
import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying, parse_symbol
from runner.sim.config import SimConfig
from runner.sim.index import IndexPath
from runner.sim.listing import listed_expiries
from runner.sim.venue import SimVenue
from tests.sim.helpers_sim import expiry

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 8, 0, tzinfo=UTC)


def test_a_venue_starts_at_the_configured_prices():
    venue = SimVenue(ManualClock(START))
    assert venue.index_price(Underlying.BTC) == Decimal(87_000)
    assert venue.index_price(Underlying.ETH) == Decimal(3000)


def test_the_same_seed_gives_the_same_path_and_the_same_quotes():
    runs = []
    for _ in range(2):
        clock = ManualClock(START)
        venue = SimVenue(clock, seed=42)
        clock.advance(timedelta(hours=5, seconds=17))
        runs.append((venue.index_price(Underlying.BTC),
                     venue.option_chain(Underlying.ETH, expiry(venue, 1, Underlying.ETH))))
    assert runs[0] == runs[1]


def test_different_seeds_give_different_paths():
    paths = [IndexPath(seed=s, name="BTC", start_second=0, start_price=87_000.0,
                       annual_vol=0.5) for s in (1, 2)]
    assert paths[0].price(3600) != paths[1].price(3600)


def test_prices_do_not_depend_on_how_often_the_market_is_observed():
    often_clock, rarely_clock = ManualClock(START), ManualClock(START)
    often, rarely = SimVenue(often_clock, seed=3), SimVenue(rarely_clock, seed=3)
    seen = []
    for _ in range(720):  # every 5 s for an hour
        often_clock.advance(timedelta(seconds=5))
        seen.append(often.index_price(Underlying.BTC))
    rarely_clock.advance(timedelta(hours=1))
    assert rarely.index_price(Underlying.BTC) == seen[-1]
    assert len(set(seen)) > 100  # it does move
    target = expiry(often, 3)
    assert rarely.option_chain(Underlying.BTC, target) == often.option_chain(Underlying.BTC,
                                                                             target)


def test_inside_a_block_the_path_is_the_same_whichever_second_is_looked_at_first():
    forward = IndexPath(seed=5, name="ETH", start_second=0, start_price=3000.0, annual_vol=0.65)
    backward = IndexPath(seed=5, name="ETH", start_second=0, start_price=3000.0,
                         annual_vol=0.65)
    seconds = list(range(0, 400, 7))
    ahead = [forward.price(s) for s in seconds]
    behind = [backward.price(s) for s in reversed(seconds)]
    assert ahead == list(reversed(behind))


def test_the_walk_has_the_configured_volatility():
    path = IndexPath(seed=11, name="BTC", start_second=0, start_price=87_000.0, annual_vol=0.5)
    returns = [math.log(path.price(60 * (i + 1)) / path.price(60 * i)) for i in range(4000)]
    per_minute = math.sqrt(sum(r * r for r in returns) / len(returns))
    annual = per_minute * math.sqrt(365 * 24 * 60)
    assert annual == pytest.approx(0.5, rel=0.08)


def test_catching_up_48_hours_does_not_walk_every_second_in_the_test():
    """Speed is measured by tests/bench/bench_sim_market.py; this only tells a catch-up
    that works in blocks from one that hangs (a loaded machine cannot fail it)."""
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=9)
    clock.advance(timedelta(hours=48))
    started = time.perf_counter()
    venue.index_price(Underlying.BTC)
    venue.index_price(Underlying.ETH)
    assert time.perf_counter() - started < 30


def test_expiries_follow_coincall_calendar_at_0800_utc():
    """Monday 2 March 2026: 3 dailies, 4 Friday weeklies, 3 monthlies, 2 quarterlies."""
    got = listed_expiries(START, SimConfig())
    assert got == [_at(3), _at(4), _at(5), _at(6), _at(13), _at(20), _at(27), _at(24, 4),
                   _at(29, 5), _at(26, 6)]
    assert all(e.hour == 8 and e.minute == 0 and e.tzinfo is UTC for e in got)


def test_an_expiry_stays_listed_until_its_own_0800_then_leaves():
    before = listed_expiries(_at(3) - timedelta(seconds=1), SimConfig())
    after = listed_expiries(_at(3), SimConfig())
    assert _at(3) in before
    assert _at(3) not in after
    assert _at(6) in after  # the 6th (a Friday) is still the next weekly


@pytest.mark.parametrize(("underlying", "tick"), [(Underlying.BTC, Decimal(1)),
                                                  (Underlying.ETH, Decimal("0.1"))])
def test_instruments_carry_coincall_symbols_ticks_and_minimum_size(venue, underlying, tick):
    instruments = venue.instruments(underlying)
    assert len(instruments) > 100
    for instrument in instruments:
        parts = parse_symbol(instrument.symbol)
        assert (parts.underlying, parts.expiry, parts.strike, parts.kind) == (
            underlying, instrument.expiry, instrument.strike, instrument.kind)
        assert instrument.tick_size == tick
        assert instrument.min_qty == Decimal("0.01")
    kinds = {i.kind for i in instruments}
    assert kinds == {OptionKind.CALL, OptionKind.PUT}


@pytest.mark.parametrize(("underlying", "near_step"), [(Underlying.BTC, 1000),
                                                       (Underlying.ETH, 25)])
def test_strike_grids_centre_on_spot_and_widen_away_from_it(venue, underlying, near_step):
    index = venue.index_price(underlying)
    strikes = sorted({i.strike for i in venue.instruments(underlying)
                      if i.expiry == expiry(venue, 6, underlying)})
    assert strikes[0] < index * Decimal("0.8")
    assert strikes[-1] > index * Decimal("1.2")
    steps = [b - a for a, b in itertools.pairwise(strikes)]
    near = [s for a, s in zip(strikes, steps, strict=False) if abs(a / index - 1) < 0.03]
    assert near
    assert set(near) == {near_step}
    assert max(steps) > near_step


def test_instruments_appear_and_expire_over_a_simulated_week(clock, venue):
    first_daily = expiry(venue, 0)
    listed = {i.symbol for i in venue.instruments(Underlying.BTC)}
    seen_new = set()
    for _ in range(7 * 4):
        clock.advance(timedelta(hours=6))
        now_listed = {i.symbol for i in venue.instruments(Underlying.BTC)}
        assert all(parse_symbol(s).expiry > clock.now() for s in now_listed)
        seen_new |= now_listed - listed
    assert not any(parse_symbol(s).expiry == first_daily
                   for s in {i.symbol for i in venue.instruments(Underlying.BTC)})
    assert {parse_symbol(s).expiry for s in seen_new} >= {_at(6) + timedelta(days=d)
                                                           for d in range(1, 4)}
    with pytest.raises(Exception, match="10574"):
        venue.orderbook(next(iter(listed - {i.symbol
                                              for i in venue.instruments(Underlying.BTC)})))


def test_setting_and_moving_the_index_shifts_it_from_now_on(clock, venue):
    venue.set_index(Underlying.BTC, Decimal(90_000))
    assert venue.index_price(Underlying.BTC) == Decimal(90_000)
    new = venue.move_index(Underlying.ETH, Decimal(-10))
    assert new == pytest.approx(Decimal(2700), abs=Decimal("0.01"))
    clock.advance(timedelta(minutes=1))
    assert abs(venue.index_price(Underlying.BTC) / 90_000 - 1) < Decimal("0.01")


def test_a_frozen_feed_stops_index_and_quotes_until_unfrozen(clock, venue):
    """C1: a stale feed for the staleness alarm to catch."""
    target = expiry(venue, 2)
    venue.freeze_prices(Underlying.BTC)
    index, chain = venue.index_price(Underlying.BTC), venue.option_chain(Underlying.BTC, target)
    eth = venue.index_price(Underlying.ETH)
    clock.advance(timedelta(minutes=10))
    assert venue.index_price(Underlying.BTC) == index
    assert venue.option_chain(Underlying.BTC, target) == chain
    assert venue.index_price(Underlying.ETH) != eth
    venue.unfreeze_prices(Underlying.BTC)
    assert venue.index_price(Underlying.BTC) != index
    assert venue.option_chain(Underlying.BTC, target) != chain
