"""Exit rules: any one closes the whole trade; the first that fires wins and its `reason`
is recorded (profit target, losses, hold time, time of day, greeks, index moves ...).

Part of the strategy model (`strategy.model` re-exports every name here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import ClassVar

from runner.strategy.vocabulary import Direction, Greek, MoveUnit, PriceBasis

# Any one exit closes the whole trade; the first that fires wins and its `reason` is
# recorded. PnL = sum over the legs; percentages are of abs(entry premium).


@dataclass(frozen=True, slots=True)
class ProfitTargetExit:
    pct: Decimal
    basis: PriceBasis = PriceBasis.EXECUTABLE
    reason: ClassVar[str] = "profit_target"


@dataclass(frozen=True, slots=True)
class MaxLossPctExit:
    pct: Decimal
    basis: PriceBasis = PriceBasis.FAIR  # lessons E2
    reason: ClassVar[str] = "max_loss"


@dataclass(frozen=True, slots=True)
class MaxLossUsdExit:
    usd: Decimal
    basis: PriceBasis = PriceBasis.FAIR
    reason: ClassVar[str] = "max_loss"


@dataclass(frozen=True, slots=True)
class MaxHoldExit:
    """Time since the trade reached OPEN (every leg filled) >= limit."""

    limit: timedelta
    reason: ClassVar[str] = "max_hold"


@dataclass(frozen=True, slots=True)
class TimeOfDayExit:
    """Fires at the first `at` (UTC time of day) after the trade opened: a trade opened
    at 20:00 with `at` 19:00 closes at 19:00 the next day, not at once."""

    at: time
    reason: ClassVar[str] = "time_of_day"


@dataclass(frozen=True, slots=True)
class DateTimeExit:
    at: datetime
    reason: ClassVar[str] = "at_datetime"


@dataclass(frozen=True, slots=True)
class EndOfCycleExit:
    """The schedule cycle the trade opened in has reached its close time."""

    reason: ClassVar[str] = "end_of_cycle"


@dataclass(frozen=True, slots=True)
class AccountDeltaExit:
    """abs(account net delta) > limit."""

    limit: Decimal
    reason: ClassVar[str] = "account_delta_limit"


@dataclass(frozen=True, slots=True)
class StructureDeltaExit:
    """abs(sum of the trade's position deltas) > limit."""

    limit: Decimal
    reason: ClassVar[str] = "structure_delta_limit"


@dataclass(frozen=True, slots=True)
class LegGreekExit:
    """The greek of leg `leg` (0-based; chain greek x signed open qty) crosses `value`."""

    leg: int
    greek: Greek
    direction: Direction
    value: Decimal
    reason: ClassVar[str] = "leg_greek_limit"


@dataclass(frozen=True, slots=True)
class BeforeExpiryExit:
    """now >= nearest leg expiry (08:00 UTC) - before."""

    before: timedelta
    reason: ClassVar[str] = "before_expiry"


@dataclass(frozen=True, slots=True)
class IndexMoveExit:
    """abs(index now - index at OPEN) >= amount (USD), or >= amount % of the entry index
    (lessons E7)."""

    amount: Decimal
    unit: MoveUnit
    reason: ClassVar[str] = "index_move"


ExitRule = (
    ProfitTargetExit | MaxLossPctExit | MaxLossUsdExit | MaxHoldExit | TimeOfDayExit
    | DateTimeExit | EndOfCycleExit | AccountDeltaExit | StructureDeltaExit | LegGreekExit
    | BeforeExpiryExit | IndexMoveExit
)
