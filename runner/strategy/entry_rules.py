"""Entry conditions: when a strategy may open (time windows, weekdays, margin, equity,
account delta, existing positions, and their all/any combinations).

Part of the strategy model (`strategy.model` re-exports every name here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from runner.strategy.vocabulary import Weekday


@dataclass(frozen=True, slots=True)
class TimeWindowCondition:
    """UTC time of day in [start, end); wraps past midnight when end <= start."""

    start: time
    end: time

    @property
    def wraps_midnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True, slots=True)
class UtcWindowCondition:
    """start <= now < end (aware UTC)."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class WeekdaysCondition:
    days: frozenset[Weekday]


@dataclass(frozen=True, slots=True)
class MinAvailableMarginCondition:
    """equity > 0 and available margin / equity x 100 >= pct."""

    pct: Decimal


@dataclass(frozen=True, slots=True)
class MinEquityCondition:
    usd: Decimal


@dataclass(frozen=True, slots=True)
class MaxAccountDeltaCondition:
    """abs(account net delta) <= limit."""

    limit: Decimal


@dataclass(frozen=True, slots=True)
class MaxMarginUtilisationCondition:
    """initial margin / equity x 100 <= pct."""

    pct: Decimal


@dataclass(frozen=True, slots=True)
class NoExistingPositionCondition:
    """The account holds none of `symbols`; an empty tuple means the instruments this
    trade would open (its resolved legs)."""

    symbols: tuple[str, ...] = ()

    @property
    def is_own_instruments(self) -> bool:
        return not self.symbols


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[EntryCondition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[EntryCondition, ...]


EntryCondition = (
    TimeWindowCondition | UtcWindowCondition | WeekdaysCondition
    | MinAvailableMarginCondition | MinEquityCondition | MaxAccountDeltaCondition
    | MaxMarginUtilisationCondition | NoExistingPositionCondition | AllOf | AnyOf
)
