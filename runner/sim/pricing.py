"""Option pricing for the simulator: Black-76 on the forward, greeks, a volatility smile.

Pure float functions, no state. Deliberate choices:
- Zero rates and no carry: the forward of every expiry equals the index and prices are
  undiscounted, so put-call parity reads C - P = F - K exactly.
- Greeks use Coincall's units (coincall-api.md section 4): USD per 1-coin contract, vega per
  1 vol point (a 0.01 change of the fraction), theta per calendar day.
- The smile is quadratic in normalised log-moneyness k / sqrt(T), with a put skew; the at-the-
  money level rises for short expiries (weekend and event premia make dailies dearer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

SECONDS_PER_YEAR: Final = 365.0 * 86_400.0
# Below this time to expiry the option is treated as at expiry (intrinsic, step delta).
MIN_YEARS: Final = 1.0 / SECONDS_PER_YEAR
_SQRT_2: Final = math.sqrt(2.0)
_INV_SQRT_2PI: Final = 1.0 / math.sqrt(2.0 * math.pi)
MIN_VOL: Final = 0.05
MAX_VOL: Final = 3.0


@dataclass(frozen=True, slots=True)
class Smile:
    """Parameters of the implied volatility surface of one underlying."""

    atm_vol: float
    short_term_boost: float = 0.25  # ATM vol x (1 + boost) for an expiry right now
    boost_decay_days: float = 7.0
    skew: float = -0.02  # per unit of normalised moneyness (negative: puts dearer)
    curvature: float = 0.015  # per unit of normalised moneyness squared


@dataclass(frozen=True, slots=True)
class Valuation:
    """Price and greeks of one option, per 1 coin."""

    price: float
    delta: float
    gamma: float
    vega: float
    theta: float


def norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / _SQRT_2))


def norm_pdf(x: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


def implied_vol(smile: Smile, forward: float, strike: float, years: float) -> float:
    """The smile's volatility for a strike and time to expiry."""
    years = max(years, MIN_YEARS)
    atm = smile.atm_vol * (1.0 + smile.short_term_boost
                           * math.exp(-years * 365.0 / smile.boost_decay_days))
    moneyness = math.log(strike / forward) / math.sqrt(max(years, 1.0 / 365.0))
    vol = atm + smile.skew * moneyness + smile.curvature * moneyness * moneyness
    return min(MAX_VOL, max(MIN_VOL, vol))


def intrinsic(forward: float, strike: float, is_call: bool) -> float:
    return max(0.0, forward - strike) if is_call else max(0.0, strike - forward)


def black_price(forward: float, strike: float, years: float, vol: float, is_call: bool) -> float:
    """Undiscounted Black-76 price of a call or put."""
    if years <= MIN_YEARS or vol <= 0.0:
        return intrinsic(forward, strike, is_call)
    std = vol * math.sqrt(years)
    d1 = (math.log(forward / strike) + 0.5 * std * std) / std
    d2 = d1 - std
    if is_call:
        return forward * norm_cdf(d1) - strike * norm_cdf(d2)
    return strike * norm_cdf(-d2) - forward * norm_cdf(-d1)


def valuation(forward: float, strike: float, years: float, vol: float, is_call: bool) -> Valuation:
    """Price, delta, gamma, vega (per vol point) and theta (per day) in one pass."""
    return Valuation(*valuation_tuple(forward, strike, years, vol, is_call))


def valuation_tuple(forward: float, strike: float, years: float, vol: float,
                    is_call: bool) -> tuple[float, float, float, float, float]:
    """`valuation` as a plain tuple (price, delta, gamma, vega, theta): the quoting hot path."""
    if years <= MIN_YEARS or vol <= 0.0:
        value = intrinsic(forward, strike, is_call)
        in_money = value > 0.0
        delta = (1.0 if in_money else 0.0) if is_call else (-1.0 if in_money else 0.0)
        return value, delta, 0.0, 0.0, 0.0
    sqrt_t = math.sqrt(years)
    std = vol * sqrt_t
    d1 = (math.log(forward / strike) + 0.5 * std * std) / std
    cdf_d1 = 0.5 * (1.0 + math.erf(d1 / _SQRT_2))
    cdf_d2 = 0.5 * (1.0 + math.erf((d1 - std) / _SQRT_2))
    pdf_d1 = _INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
    if is_call:
        price = forward * cdf_d1 - strike * cdf_d2
        delta = cdf_d1
    else:
        price = strike * (1.0 - cdf_d2) - forward * (1.0 - cdf_d1)
        delta = cdf_d1 - 1.0
    gamma = pdf_d1 / (forward * std)
    vega = forward * pdf_d1 * sqrt_t / 100.0
    theta = -forward * pdf_d1 * vol / (2.0 * sqrt_t) / 365.0
    return max(price, 0.0), delta, gamma, vega, theta
