"""Proof that an option's book shows no bid over a stretch of seconds, without pricing each.

A close whose leg has no bid (a deep out-of-the-money option) tries it every tick until a
bid appears or the leg expires (lessons B6), sometimes for days. A simulation stepping by
events (service/order_probe.py) must step to the first second the leg has a bid, and to
find it, pricing the leg every second of days cost more than the rest of a year's run. This
module rules out whole stretches at once from the index's range over them, soundly:

- The book shows a bid at a second only when mark - half-spread >= one tick (quotes.py),
  and the half-spread is at least max(one tick, 0.01 % of the index). So no bid is shown
  at any second whose price is below tick + max(tick, 0.01 % x the stretch's lowest index).
- The price never exceeds Black-76 at the most favourable corner of the stretch: the
  highest forward for a call (lowest for a put), the longest time to expiry, the highest
  volatility the smile gives anywhere in the stretch. Each holds exactly: Black-76 with zero
  rates rises with time and volatility, a call with the forward, a put as it falls.
- The smile's highest volatility: its at-the-money level is highest at the shortest time;
  normalised moneyness ln(K/F)/sqrt(T) is bilinear in (ln(K/F), 1/sqrt(T)), so its range is
  found at the corners, and the quadratic in it is highest at an end of that range or at its
  vertex.

A stretch the bound cannot rule out is priced second by second, as before; so the answer
is the same, only cheaper. Near expiry (under two minutes) nothing is ruled out.
"""

from __future__ import annotations

import math
from typing import Final

from runner.sim.config import UnderlyingConfig
from runner.sim.pricing import MIN_YEARS, SECONDS_PER_YEAR, VOL_RANGE, black_price
from runner.sim.quotes import MIN_HALF_SPREAD_OF_INDEX, Priced

_NEAR_EXPIRY_S: Final = 120.0
_MARGIN: Final = 1e-9  # relative: float rounding of the quoting arithmetic


def no_bid_throughout(priced: Priced, market: UnderlyingConfig, index_low: float,
                      index_high: float, first_second: int, last_second: int) -> bool:
    """True only when the book of `priced` shows no bid at any second of
    [first_second, last_second] (live seconds) whose index lies in [index_low, index_high]."""
    if priced.expiry_second - last_second < _NEAR_EXPIRY_S or index_low <= 0:
        return False
    longest = (priced.expiry_second - first_second) / SECONDS_PER_YEAR
    shortest = (priced.expiry_second - last_second) / SECONDS_PER_YEAR
    vol = _highest_vol(market, priced.strike, index_low, index_high, shortest, longest)
    forward = index_high if priced.is_call else index_low
    highest_price = black_price(forward, priced.strike, longest, vol, priced.is_call)
    tick = float(market.tick)
    lowest_bar = tick + max(tick, MIN_HALF_SPREAD_OF_INDEX * index_low)
    return highest_price * (1 + _MARGIN) < lowest_bar * (1 - _MARGIN)


def _highest_vol(market: UnderlyingConfig, strike: float, index_low: float,
                 index_high: float, shortest: float, longest: float) -> float:
    smile = market.smile
    short = max(shortest, MIN_YEARS)
    atm = smile.atm_vol * (1.0 + smile.short_term_boost
                           * math.exp(-short * 365.0 / smile.boost_decay_days))
    logs = (math.log(strike / index_high), math.log(strike / index_low))
    scales = tuple(1.0 / math.sqrt(max(years, 1.0 / 365.0)) for years in (shortest, longest))
    corners = [log * scale for log in logs for scale in scales]
    low, high = min(corners), max(corners)
    candidates = [low, high]
    if smile.curvature < 0:
        vertex = -smile.skew / (2.0 * smile.curvature)
        if low < vertex < high:
            candidates.append(vertex)
    shape = max(smile.skew * m + smile.curvature * m * m for m in candidates)
    low_vol, high_vol = VOL_RANGE
    return min(high_vol, max(low_vol, atm + shape))
