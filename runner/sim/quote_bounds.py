"""Bounds on an option's chain figures over a stretch of seconds (the exit screen's stretch).

Over a stretch of checks, the exit screen (service/exit_screen.py) asks whether any exit
could fire anywhere in it; only the index at each check is computed exactly (its lowest
and highest), and each held option's mark, bid, ask and delta are bounded over the box
[lowest, highest index] x [first, last second] from a few prices at its corners.

Why the corners bound it (quotes.py, pricing.py): the undiscounted Black-76 price is
increasing in the forward (call) or decreasing (put), in the volatility and in the time
to expiry, each with the others fixed; the smile's volatility is bounded over the box
from the bounds of its at-the-money level (monotone in time) and of a quadratic in the
normalised moneyness (whose range over an interval is at its ends or its vertex); d1,
and so the delta, from the bounds of log-moneyness over total deviation. The half
spread is bounded from the bounds of price, |delta| and index, and the book's first
ticks from those, one tick wider each way for the rounding. Every float bound is also
widened by a margin far above float rounding. A box too close to expiry (where pricing
turns to intrinsic value) has no bounds: the screen then looks at each check.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from runner.sim.pricing import (
    MAX_VOL,
    MIN_VOL,
    MIN_YEARS,
    SECONDS_PER_YEAR,
    Smile,
    black_price,
    norm_cdf,
)
from runner.sim.quotes import MIN_HALF_SPREAD_OF_INDEX, Priced

_RELATIVE = 1e-9
_ABSOLUTE_USD = 1e-6
_NEAR_EXPIRY_YEARS = 60 * MIN_YEARS  # no bounds within a minute of expiry


class FigureBounds(NamedTuple):
    """Lowest and highest mark, bid, ask (cents, ignoring an empty side) and delta."""

    mark: tuple[float, float]
    bid: tuple[float, float]
    ask: tuple[float, float]
    delta: tuple[float, float]


def figure_bounds(priced: Priced, smile: Smile, spread_fraction: float, tick: float,
                  tick_cents: int, index: tuple[float, float],
                  seconds: tuple[int, int]) -> FigureBounds | None:
    """Bounds of `quote_figures` over index in [low, high] and second in [first, last]."""
    low, high = index
    years_low = (priced.expiry_second - seconds[1]) / SECONDS_PER_YEAR
    years_high = (priced.expiry_second - seconds[0]) / SECONDS_PER_YEAR
    if years_low <= _NEAR_EXPIRY_YEARS or low <= 0.0:
        return None
    strike = priced.strike
    vol_low, vol_high = _vol_bounds(smile, strike, low, high, years_low, years_high)
    if priced.is_call:
        price_low = black_price(low, strike, years_low, vol_low, True)
        price_high = black_price(high, strike, years_high, vol_high, True)
    else:
        price_low = black_price(high, strike, years_low, vol_low, False)
        price_high = black_price(low, strike, years_high, vol_high, False)
    price_low = max(0.0, price_low * (1 - _RELATIVE) - _ABSOLUTE_USD)
    price_high = price_high * (1 + _RELATIVE) + _ABSOLUTE_USD
    delta = _delta_bounds(priced, low, high, vol_low, vol_high, years_low, years_high)
    half_low, half_high = _half_spread_bounds(price_low, price_high, delta, low, high,
                                              years_low, years_high, spread_fraction, tick)
    bid = ((math.floor((price_low - half_high) / tick) - 1) * tick_cents,
           (math.floor((price_high - half_low) / tick) + 1) * tick_cents)
    ask = ((math.ceil((price_low + half_low) / tick) - 1) * tick_cents,
           (math.ceil((price_high + half_high) / tick) + 1) * tick_cents)
    mark = (price_low * 100 - 0.5, price_high * 100 + 0.5)
    return FigureBounds(mark, bid, ask, delta)


def delta_bounds(priced: Priced, smile: Smile, index: tuple[float, float],
                 seconds: tuple[int, int]) -> tuple[float, float] | None:
    """Bounds of the chain row's delta alone over the box (what a delta strike rule
    compares; the entry screen, service/entry_screen.py): `figure_bounds`' delta without
    its prices and book."""
    low, high = index
    years_low = (priced.expiry_second - seconds[1]) / SECONDS_PER_YEAR
    years_high = (priced.expiry_second - seconds[0]) / SECONDS_PER_YEAR
    if years_low <= _NEAR_EXPIRY_YEARS or low <= 0.0:
        return None
    vol_low, vol_high = _vol_bounds(smile, priced.strike, low, high, years_low, years_high)
    return _delta_bounds(priced, low, high, vol_low, vol_high, years_low, years_high)


def _delta_bounds(priced: Priced, low: float, high: float, vol_low: float, vol_high: float,
                  years_low: float, years_high: float) -> tuple[float, float]:
    """The call's N(d1) bounds, a put's one less, each widened by the margin."""
    call_low, call_high = _call_delta_bounds(priced.strike, low, high,
                                             vol_low * math.sqrt(years_low),
                                             vol_high * math.sqrt(years_high))
    shift = 0.0 if priced.is_call else -1.0
    return call_low + shift - _RELATIVE, call_high + shift + _RELATIVE


def shows_no_bid(bounds: FigureBounds, tick_cents: int) -> bool:
    """Whether no second of the box can show a bid. A bid shows when its first tick,
    floor((price - half spread) / tick), is at least 1; `bounds.bid` is one tick above
    the highest such tick (for rounding), so below two ticks none can."""
    return bounds.bid[1] < 2 * tick_cents


def _vol_bounds(smile: Smile, strike: float, low: float, high: float, years_low: float,
                years_high: float) -> tuple[float, float]:
    """pricing.implied_vol over the box (years above MIN_YEARS here)."""
    def atm(years: float) -> float:
        return smile.atm_vol * (1.0 + smile.short_term_boost
                                * math.exp(-years * 365.0 / smile.boost_decay_days))
    atm_low, atm_high = atm(years_high), atm(years_low)  # decreasing in time
    roots = (math.sqrt(max(years_low, 1.0 / 365.0)), math.sqrt(max(years_high, 1.0 / 365.0)))
    logs = (math.log(strike / high), math.log(strike / low))
    ratios = [x / r for x in logs for r in roots]
    m_low, m_high = min(ratios), max(ratios)
    candidates = [m_low, m_high]
    if smile.curvature != 0.0:
        vertex = -smile.skew / (2.0 * smile.curvature)
        if m_low < vertex < m_high:
            candidates.append(vertex)
    shape = [smile.skew * m + smile.curvature * m * m for m in candidates]
    margin = _RELATIVE * (1.0 + max(abs(s) for s in shape) + atm_high)
    vol_low = atm_low + min(shape) - margin
    vol_high = atm_high + max(shape) + margin
    return min(MAX_VOL, max(MIN_VOL, vol_low)), min(MAX_VOL, max(MIN_VOL, vol_high))


def _call_delta_bounds(strike: float, low: float, high: float, std_low: float,
                       std_high: float) -> tuple[float, float]:
    """N(d1) with d1 = log(F/K)/std + std/2 over the box."""
    logs = (math.log(low / strike), math.log(high / strike))
    ratios = [x / s for x in logs for s in (std_low, std_high)]
    margin = _RELATIVE * (1.0 + max(abs(r) for r in ratios) + std_high)
    d1_low = min(ratios) + std_low / 2 - margin
    d1_high = max(ratios) + std_high / 2 + margin
    return norm_cdf(d1_low), norm_cdf(d1_high)


def _half_spread_bounds(price_low: float, price_high: float, delta: tuple[float, float],
                        low: float, high: float, years_low: float, years_high: float,
                        spread_fraction: float, tick: float) -> tuple[float, float]:
    """quotes._half_spread over the box."""
    a, b = delta
    abs_high = max(abs(a), abs(b))
    abs_low = 0.0 if a <= 0.0 <= b else min(abs(a), abs(b))

    def widening(abs_delta: float) -> float:
        return 1.0 + 2.0 * max(0.0, 0.2 - abs_delta) / 0.2
    short = 2.0 / 365.0
    widening_low = widening(abs_high) * (1.5 if years_high < short else 1.0)
    widening_high = widening(abs_low) * (1.5 if years_low < short else 1.0)
    half_low = max(tick, MIN_HALF_SPREAD_OF_INDEX * low,
                   spread_fraction * price_low * widening_low)
    half_high = max(tick, MIN_HALF_SPREAD_OF_INDEX * high,
                    spread_fraction * price_high * widening_high)
    return half_low * (1 - _RELATIVE), half_high * (1 + _RELATIVE)
