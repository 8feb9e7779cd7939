"""Expiry rules: which listed expiry a leg trades, and which chains a tick must fetch.

Semantics: strategy-semantics.md "Expiry rules", model.ExpiryRule. Invariants: an expiry
at or before `now` is never chosen (the old `dte 0` could pick an expired date,
old-system c.2); every rule ranks its candidates deterministically (ties go to the
earlier expiry), so the choice over a subset that holds the best candidate equals the
choice over the full list.

Deliberate choices:
- `dte` windows are counted in UTC calendar days from today; the target is noon UTC of
  day today + days. With a window (min_days < days < max_days) the rule finds a
  candidate on every day of a realistic calendar (lessons G3).
- `cycle` membership is read from the calendar, not from what happens to be listed:
  weekly = a Friday, monthly = the last Friday of its month, quarterly = the last
  Friday of March, June, September or December. `min_days` counts calendar days.
- `expiry_candidates` returns every eligible expiry best first, for `plan` (G3: show
  days with no eligible expiry).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

from runner.domain.instruments import Underlying, expiry_at, parse_symbol
from runner.domain.trades import Trade
from runner.strategy.model import (
    CycleExpiry,
    DaysWindowExpiry,
    DteExpiry,
    ExpiryCycle,
    ExpiryRule,
    FixedExpiry,
    NextExpiry,
    StrategySpec,
)

_FRIDAY = 4
_QUARTER_MONTHS = frozenset({3, 6, 9, 12})
_NOON = time(12, 0)


def expiry_candidates(rule: ExpiryRule, expiries: Iterable[datetime],
                      now: datetime) -> tuple[datetime, ...]:
    """Every listed expiry the rule accepts, best first."""
    alive = sorted({e for e in expiries if e > now})
    match rule:
        case DteExpiry():
            return _dte(rule, alive, now)
        case NextExpiry():
            return tuple(alive)
        case DaysWindowExpiry():
            return _days_window(rule, alive, now)
        case CycleExpiry():
            return _cycle(rule, alive, now)
        case FixedExpiry():
            return tuple(e for e in alive if e == expiry_at(rule.day))
    raise TypeError(f"unknown expiry rule {rule!r}")


def describe_expiry(rule: ExpiryRule) -> str:
    """The rule in words, for reasons and `plan`."""
    match rule:
        case DteExpiry(days=days, min_days=low, max_days=high):
            window = f" (window {low} to {high} days)" if (low, high) != (days, days) else ""
            return f"dte {days}{window}"
        case NextExpiry():
            return "the next expiry"
        case DaysWindowExpiry(min_days=low, max_days=high):
            return f"{low} to {high} days from now"
        case CycleExpiry(cycle=cycle, min_days=low):
            return f"the next {cycle.value} expiry at least {low} days out"
        case FixedExpiry(day=day):
            return f"the expiry of {day:%d %b %Y}"
    return repr(rule)


def choose_expiry(rule: ExpiryRule, expiries: Sequence[datetime], now: datetime) -> datetime | None:
    """The expiry the rule picks among `expiries`, or None when none is eligible."""
    found = expiry_candidates(rule, expiries, now)
    return found[0] if found else None


@lru_cache(maxsize=1024)
def choose_listed_expiry(rule: ExpiryRule, listed: tuple[datetime, ...],
                         now: datetime) -> datetime | None:
    """`choose_expiry` remembered for the same rule, listing and moment: the strategies of
    a tick that share an expiry rule choose once (issue 11 item 4). A pure function of its
    arguments, all values, so a remembered answer is the answer."""
    return choose_expiry(rule, listed, now)


def _dte(rule: DteExpiry, alive: list[datetime], now: datetime) -> tuple[datetime, ...]:
    today = now.astimezone(UTC).date()
    first, last = today + timedelta(days=rule.min_days), today + timedelta(days=rule.max_days)
    target = datetime.combine(today + timedelta(days=rule.days), _NOON, tzinfo=UTC)
    inside = [e for e in alive if first <= e.date() <= last]
    return tuple(sorted(inside, key=lambda e: (abs(e - target), e)))


def _days_window(rule: DaysWindowExpiry, alive: list[datetime],
                 now: datetime) -> tuple[datetime, ...]:
    first, last = now + timedelta(days=rule.min_days), now + timedelta(days=rule.max_days)
    middle = now + timedelta(days=(rule.min_days + rule.max_days) / 2)
    inside = [e for e in alive if first <= e <= last]
    return tuple(sorted(inside, key=lambda e: (abs(e - middle), e)))


def is_in_cycle(expiry: datetime, cycle: ExpiryCycle) -> bool:
    """Whether an expiry date belongs to a weekly / monthly / quarterly cycle."""
    day = expiry.date()
    if day.weekday() != _FRIDAY:
        return False
    if cycle is ExpiryCycle.WEEKLY:
        return True
    last_friday_of_month = (day + timedelta(days=7)).month != day.month
    if cycle is ExpiryCycle.MONTHLY:
        return last_friday_of_month
    return last_friday_of_month and day.month in _QUARTER_MONTHS


def _cycle(rule: CycleExpiry, alive: list[datetime], now: datetime) -> tuple[datetime, ...]:
    today = now.astimezone(UTC).date()
    return tuple(e for e in alive if is_in_cycle(e, rule.cycle)
                 and (e.date() - today).days >= rule.min_days)


def expiries_needed(specs: Iterable[StrategySpec],
                    listed_expiries: Mapping[Underlying, Sequence[datetime]], now: datetime,
                    *, trades: Iterable[Trade] = ()) -> set[tuple[Underlying, datetime]]:
    """The (underlying, expiry) chains this tick must fetch: the expiry every leg of every
    given strategy would choose now, plus the expiries of the given trades' legs (their
    exits price from the chain)."""
    needed: set[tuple[Underlying, datetime]] = set()
    for spec in specs:
        for leg in spec.legs:
            chosen = choose_expiry(leg.expiry, listed_expiries.get(leg.underlying, ()), now)
            if chosen is not None:
                needed.add((leg.underlying, chosen))
    for trade in trades:
        for trade_leg in trade.legs:
            parts = parse_symbol(trade_leg.symbol)
            if parts.expiry > now:
                needed.add((parts.underlying, parts.expiry))
    return needed


def held_expiries(symbols: Iterable[str], now: datetime) -> set[tuple[Underlying, datetime]]:
    """The (underlying, expiry) chains of held option symbols not yet expired (their chain
    delta is what an account delta rule decides on); other symbols are skipped."""
    needed: set[tuple[Underlying, datetime]] = set()
    for symbol in symbols:
        try:
            parts = parse_symbol(symbol)
        except ValueError:
            continue  # not an option of ours (a future, another venue product)
        if parts.expiry > now:
            needed.add((parts.underlying, parts.expiry))
    return needed
