"""A chain row's delta is read without pricing the row, and is the priced row's delta.

A delta strike rule reads the delta of every strike of an expiry and trades one of them
(engine/strikes.py): the simulator works out a row's delta alone (the same pure function
as pricing the whole row), so the service's full tick prices the rows it trades, not every
strike it looked at (issue 12). No pick can change: the delta is the very same float.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.sim.lazy_chain import _ExpiryTerms
from runner.sim.pricing import MIN_YEARS, SECONDS_PER_YEAR, Smile, implied_vol, valuation_tuple
from runner.sim.venue import SimVenue

START = datetime(2026, 3, 2, tzinfo=UTC)


def test_a_rows_delta_is_the_priced_rows_delta_at_every_strike_and_moment() -> None:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    checked = 0
    for offset in (timedelta(0), timedelta(hours=7, minutes=59, seconds=59),
                   timedelta(hours=12, seconds=31), timedelta(days=3, hours=20, minutes=1)):
        clock.set(START + offset)
        for underlying in Underlying:
            rows = venue.option_chain(underlying)
            deltas = [row.delta for row in rows]  # read alone, no row priced yet
            for row, delta in zip(rows, deltas, strict=True):
                greeks = row.greeks  # now the whole row is priced
                assert greeks is not None
                assert delta == greeks.delta, row.symbol  # the same float, bit for bit
                assert row.delta == delta
                checked += 1
    assert checked > 1000


def test_reading_deltas_prices_no_row() -> None:
    clock = ManualClock(START + timedelta(hours=12, seconds=5))
    venue = SimVenue(clock, seed=3)
    market = venue._market  # the count of options priced is the subject
    rows = venue.option_chain(Underlying.BTC)
    before = market.options_priced
    assert all(row.delta is not None for row in rows)
    assert market.options_priced == before
    rows[3].bid  # noqa: B018 - reading a price prices that row, and that row only
    assert market.options_priced == before + 1
    assert rows[3].delta == rows[3].greeks.delta


def test_the_delta_shortcut_is_the_pricing_functions_delta_bit_for_bit() -> None:
    """Strike-free terms worked out once per expiry (`_ExpiryTerms`) give the very float
    of `implied_vol` then `valuation_tuple`, for calls and puts, deep in and out of the
    money (the clamped volatilities), and at or past the expiry (the step delta)."""
    smiles = (Smile(0.55), Smile(0.8, short_term_boost=0.6, skew=-0.2, curvature=0.3))
    times = (-5.0, 0.0, MIN_YEARS, 1.5 / SECONDS_PER_YEAR, 60.0 / SECONDS_PER_YEAR,
             0.3 / 365.0, 1.0 / 365.0, 2.7 / 365.0, 30.0 / 365.0, 0.9)
    checked = 0
    for smile in smiles:
        for forward in (91315.06, 2987.4):
            for years in times:
                terms = _ExpiryTerms(smile, forward, years)
                for fraction in range(10, 400, 3):
                    strike = float(round(forward * fraction / 100.0, -1) or 10.0)
                    for is_call in (True, False):
                        vol = implied_vol(smile, forward, strike, years)
                        want = valuation_tuple(forward, strike, years, vol, is_call)[1]
                        assert terms.delta(strike, is_call) == want, (years, strike, is_call)
                        checked += 1
    assert checked > 10_000
