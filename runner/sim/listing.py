"""Which options are listed: Coincall-style expiries at 08:00 UTC and strike grids.

Invariant: the set of listed expiries is a pure function of time, and it changes only at
08:00 UTC (an expiry leaves at its own 08:00; new ones enter at an 08:00 when they become
one of the next N of their kind). Once listed, an expiry stays listed until it expires.

Kinds: dailies (every day), weeklies (Fridays), monthlies (last Friday of a month),
quarterlies (last Friday of March, June, September, December). An expiry that is several
kinds at once is listed once. The strike grid of an expiry is fixed when it is listed,
centred on the index at that moment, as wide as `strike_range_sigmas` standard deviations
of its whole life, with steps that widen away from the money.
"""

from __future__ import annotations

import calendar
import math
from datetime import date, datetime, timedelta
from decimal import Decimal

from runner.domain.instruments import expiry_at
from runner.sim.config import SimConfig, UnderlyingConfig
from runner.sim.pricing import SECONDS_PER_YEAR

_FRIDAY = 4
_QUARTER_MONTHS = (3, 6, 9, 12)


def next_expiry_moment(now: datetime) -> datetime:
    """The first 08:00 UTC strictly after `now`."""
    today = expiry_at(now.date())
    return today if today > now else today + timedelta(days=1)


def expiry_boundaries(after: datetime, until: datetime) -> list[datetime]:
    """Every 08:00 UTC in (after, until], in order."""
    moments = []
    moment = next_expiry_moment(after)
    while moment <= until:
        moments.append(moment)
        moment += timedelta(days=1)
    return moments


def last_friday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - _FRIDAY) % 7)


def _add_months(year: int, month: int, count: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + count
    return index // 12, index % 12 + 1


def _dailies(now: datetime, count: int) -> list[datetime]:
    first = next_expiry_moment(now)
    return [first + timedelta(days=i) for i in range(count)]


def _weeklies(now: datetime, count: int) -> list[datetime]:
    first = next_expiry_moment(now)
    first += timedelta(days=(_FRIDAY - first.weekday()) % 7)
    return [first + timedelta(weeks=i) for i in range(count)]


def _month_ends(now: datetime, count: int, months: tuple[int, ...] | None) -> list[datetime]:
    found: list[datetime] = []
    year, month = now.year, now.month
    while len(found) < count:
        if months is None or month in months:
            moment = expiry_at(last_friday(year, month))
            if moment > now:
                found.append(moment)
        year, month = _add_months(year, month, 1)
    return found


def listed_expiries(now: datetime, config: SimConfig) -> list[datetime]:
    """The expiries listed at `now`, soonest first."""
    moments = set(_dailies(now, config.daily_expiries))
    moments.update(_weeklies(now, config.weekly_expiries))
    moments.update(_month_ends(now, config.monthly_expiries, None))
    moments.update(_month_ends(now, config.quarterly_expiries, _QUARTER_MONTHS))
    return sorted(moments)


def strike_grid(anchor: float, years: float, market: UnderlyingConfig,
                config: SimConfig) -> list[Decimal]:
    """Strikes for an expiry listed when the index was `anchor`, ascending."""
    width = config.strike_range_sigmas * market.annual_vol * math.sqrt(max(years, 1 / 365))
    width = min(config.max_strike_range, max(config.min_strike_range, width))
    near_step = market.strike_bands[0][1]
    centre = Decimal(round(anchor / float(near_step))) * near_step
    strikes = {centre}
    for direction in (1, -1):
        strike = centre
        while True:
            step = _step_at(float(strike) / anchor - 1.0, market)
            strike += direction * step
            strike = (strike / step).to_integral_value() * step  # stay on the coarser grid
            if strike <= 0 or abs(float(strike) / anchor - 1.0) > width:
                break
            strikes.add(strike)
    return sorted(strikes)


def _step_at(distance: float, market: UnderlyingConfig) -> Decimal:
    for limit, step in market.strike_bands:
        if abs(distance) < limit:
            return step
    return market.strike_bands[-1][1]


def years_between(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / SECONDS_PER_YEAR)
