"""The simulator's option market is sane: parity, delta ranges, Black-Scholes greeks, smile."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runner.domain.instruments import OptionKind, Underlying
from runner.sim.pricing import Smile, black_price, implied_vol, valuation
from runner.sim.venue import SimVenue
from tests.sim.helpers_sim import expiry

UNDERLYINGS = [Underlying.BTC, Underlying.ETH]


def _pairs(venue: SimVenue, underlying: Underlying, position: int):
    chain = venue.option_chain(underlying, expiry(venue, position, underlying))
    calls = {q.instrument.strike: q for q in chain if q.instrument.kind is OptionKind.CALL}
    puts = {q.instrument.strike: q for q in chain if q.instrument.kind is OptionKind.PUT}
    return [(calls[k], puts[k]) for k in sorted(calls)]


@pytest.mark.parametrize("underlying", UNDERLYINGS)
@pytest.mark.parametrize("position", [0, 4, 8])
def test_put_call_parity_holds_on_marks_and_within_the_spread(venue, underlying, position):
    for call, put in _pairs(venue, underlying, position):
        forward = call.underlying_price
        strike = call.instrument.strike
        assert call.mark - put.mark == pytest.approx(forward - strike, abs=Decimal("0.02"))
        if call.bid and call.ask and put.bid and put.ask:
            assert call.bid - put.ask <= forward - strike <= call.ask - put.bid


@pytest.mark.parametrize("underlying", UNDERLYINGS)
def test_call_deltas_lie_in_0_1_put_deltas_in_minus1_0_and_both_fall_with_strike(venue,
                                                                                 underlying):
    for position in (0, 3, 7):
        pairs = _pairs(venue, underlying, position)
        call_deltas = [c.delta for c, _ in pairs]
        put_deltas = [p.delta for _, p in pairs]
        assert all(0 < d < 1 for d in call_deltas)
        assert all(-1 < d < 0 for d in put_deltas)
        assert call_deltas == sorted(call_deltas, reverse=True)
        assert put_deltas == sorted(put_deltas, reverse=True)


@pytest.mark.parametrize("is_call", [True, False])
@pytest.mark.parametrize(("strike", "years"), [(80_000.0, 2 / 365), (87_000.0, 0.1),
                                               (100_000.0, 0.5)])
def test_greeks_match_black_scholes_finite_differences(is_call, strike, years):
    forward, vol = 87_000.0, 0.55
    got = valuation(forward, strike, years, vol, is_call)
    bump = forward * 1e-4

    def price(f=forward, t=years, v=vol):
        return black_price(f, strike, t, v, is_call)

    assert got.price == pytest.approx(price(), rel=1e-12)
    assert got.delta == pytest.approx((price(forward + bump) - price(forward - bump))
                                      / (2 * bump), rel=1e-5, abs=1e-9)
    gamma = (price(forward + bump) - 2 * price() + price(forward - bump)) / bump**2
    assert got.gamma == pytest.approx(gamma, rel=1e-3, abs=1e-10)
    vega = (price(v=vol + 1e-5) - price(v=vol - 1e-5)) / 2e-5 / 100
    assert got.vega == pytest.approx(vega, rel=1e-5)
    day = 1 / 365
    theta = (price(t=years - day / 100) - price(t=years + day / 100)) / (2 / 100)
    assert got.theta == pytest.approx(theta, rel=1e-4)


def test_greeks_are_in_coincall_units_vega_per_vol_point_theta_per_day():
    """An ATM BTC option with under a day left near 70k: vega ~10, theta a few hundred USD a
    day negative, like Coincall's live snapshots (coincall-api.md section 4)."""
    got = valuation(70_000.0, 70_000.0, 0.75 / 365, 0.4, True)
    assert 9 < got.vega < 14
    assert -400 < got.theta < -250


def test_the_smile_is_higher_for_short_expiries_and_for_downside_strikes():
    smile = Smile(atm_vol=0.5)
    assert implied_vol(smile, 87_000, 87_000, 1 / 365) > implied_vol(smile, 87_000, 87_000, 0.25)
    assert implied_vol(smile, 87_000, 70_000, 0.1) > implied_vol(smile, 87_000, 104_000, 0.1)
    assert implied_vol(smile, 87_000, 60_000, 0.1) > implied_vol(smile, 87_000, 87_000, 0.1)


def test_at_expiry_the_price_is_intrinsic_value():
    assert black_price(90_000.0, 87_000.0, 0.0, 0.5, True) == 3_000.0
    assert black_price(90_000.0, 87_000.0, 0.0, 0.5, False) == 0.0
    assert valuation(80_000.0, 87_000.0, 0.0, 0.5, False).delta == -1.0


@pytest.mark.parametrize("underlying", UNDERLYINGS)
def test_books_straddle_the_mark_with_several_levels_of_depth(venue, underlying):
    chain = venue.option_chain(underlying, expiry(venue, 2, underlying))
    tick = chain[0].instrument.tick_size
    with_both_sides = [q for q in chain if q.bid and q.ask]
    assert len(with_both_sides) > len(chain) / 2
    for quote in with_both_sides:
        assert quote.bid < quote.mark < quote.ask
        assert quote.bid % tick == 0
        assert quote.ask % tick == 0
        assert quote.bid_size > 0
        assert quote.ask_size > 0
        book = venue.orderbook(quote.symbol)
        assert 3 <= len(book.asks) <= 5
        assert [lv.price for lv in book.asks] == sorted(lv.price for lv in book.asks)
        assert [lv.price for lv in book.bids] == sorted((lv.price for lv in book.bids),
                                                        reverse=True)
        assert book.best_bid == quote.bid
        assert book.best_ask == quote.ask


def test_far_out_of_the_money_options_have_wider_spreads_and_may_have_no_bid(venue):
    chain = venue.option_chain(Underlying.BTC, expiry(venue, 0))
    calls = [q for q in chain if q.instrument.kind is OptionKind.CALL]
    far = calls[-1]
    assert far.bid is None  # a deep OTM daily call: nothing bid (lessons B12)
    assert far.ask is not None
    atm = min(calls, key=lambda q: abs(q.delta - 0.5))
    otm = min(calls, key=lambda q: abs(q.delta - 0.1))
    assert (otm.ask - otm.bid) / otm.mark > (atm.ask - atm.bid) / atm.mark
