"""Leaf conversions from schema-valid YAML values to model values.

Durations are written `10s`, `5m`, `2h`, `1d` or combined `1h30m`; times of day
`HH:MM` (UTC); date-times ISO 8601 in UTC (`2026-03-28T07:00Z`); dates `2026-03-28` or
as written in a symbol (`28MAR26`). The patterns are the schema's; these functions
also serve the semantic checks, which re-read values with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.strategy.model import (
    AccountDeltaExit,
    AtmStrike,
    BeforeExpiryExit,
    CycleExpiry,
    CycleSchedule,
    DailySchedule,
    DateTimeExit,
    DaysWindowExpiry,
    DeltaStrike,
    Direction,
    DteExpiry,
    EndOfCycleExit,
    ExitRule,
    ExpiryCycle,
    ExpiryRule,
    FixedExpiry,
    FixedStrike,
    Greek,
    IndexMoveExit,
    LegGreekExit,
    LegSpec,
    MaxHoldExit,
    MaxLossPctExit,
    MaxLossUsdExit,
    MoveUnit,
    NextExpiry,
    OffsetUnit,
    PriceBasis,
    ProfitTargetExit,
    RelativeStrike,
    Schedule,
    SpotDistanceStrike,
    StepsFromAtmStrike,
    StrikeRule,
    StructureDeltaExit,
    TimeOfDayExit,
)

DURATION_RE: Final = re.compile(r"^(?=\d)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_MONTHS: Final = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_SYMBOL_DATE_RE: Final = re.compile(r"^(\d{1,2})([A-Z]{3})(\d{2})$")


def to_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def duration(text: str | None) -> timedelta | None:
    """`1h30m` -> 90 minutes; None passes through; ValueError when malformed."""
    if text is None:
        return None
    match = DURATION_RE.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def time_of_day(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes), tzinfo=UTC)


def utc_datetime(text: str) -> datetime:
    """ISO 8601 with `Z` or `+00:00`; refuse any other offset."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.utcoffset() != timedelta(0):
        raise ValueError(f"not UTC: {text!r}")
    return parsed.astimezone(UTC)


def calendar_date(text: str) -> date:
    match = _SYMBOL_DATE_RE.match(text)
    if match is None:
        return date.fromisoformat(text)
    day, month, year = match.groups()
    return date(2000 + int(year), _MONTHS.index(month) + 1, int(day))


def limit_of_day(value: int | str | None, default: int | None) -> int | None:
    if value is None:
        return default
    return None if value == "unlimited" else int(value)


def strike_rule(raw: Mapping[str, Any]) -> StrikeRule:
    if "delta" in raw:
        tolerance = raw.get("tolerance")
        return DeltaStrike(to_decimal(raw["delta"]),
                           to_decimal(tolerance) if tolerance is not None else None)
    if "atm" in raw:
        return AtmStrike()
    if "spot_distance_pct" in raw:
        return SpotDistanceStrike(to_decimal(raw["spot_distance_pct"]), MoveUnit.PCT)
    if "spot_distance_usd" in raw:
        return SpotDistanceStrike(to_decimal(raw["spot_distance_usd"]), MoveUnit.USD)
    if "fixed" in raw:
        return FixedStrike(to_decimal(raw["fixed"]))
    if "steps_from_atm" in raw:
        return StepsFromAtmStrike(int(raw["steps_from_atm"]))
    return relative_strike(raw)


def relative_strike(raw: Mapping[str, Any]) -> RelativeStrike:
    for unit in OffsetUnit:
        key = f"offset_{unit.value}"
        if key in raw:
            return RelativeStrike(int(raw["from_leg"]), to_decimal(raw[key]), unit)
    raise ValueError("a relative strike needs offset_usd, offset_pct or offset_steps")


def expiry_rule(raw: Mapping[str, Any]) -> ExpiryRule:
    if "dte" in raw:
        days = int(raw["dte"])
        return DteExpiry(days, int(raw.get("min_dte", days)), int(raw.get("max_dte", days)))
    if "next" in raw:
        return NextExpiry()
    if "cycle" in raw:
        return CycleExpiry(ExpiryCycle(raw["cycle"]), int(raw.get("min_dte", 0)))
    if "date" in raw:
        return FixedExpiry(calendar_date(raw["date"]))
    return DaysWindowExpiry(int(raw["min_days"]), int(raw["max_days"]))


def leg_spec(raw: Mapping[str, Any], underlying: Underlying) -> LegSpec:
    return LegSpec(
        kind=OptionKind(raw["option"]),
        side=Side(raw["side"]),
        qty=to_decimal(raw["qty"]),
        strike=strike_rule(raw["strike"]),
        expiry=expiry_rule(raw["expiry"]),
        underlying=underlying,
    )


def schedule(raw: Mapping[str, Any]) -> Schedule:
    per_cycle = int(raw.get("trades_per_cycle", 1))
    if raw["type"] == "cycles":
        return CycleSchedule(
            first_open_after=_required_duration(raw["first_open_after"]),
            open_window=_required_duration(raw["open_window"]),
            close_after=_required_duration(raw["close_after"]),
            gap=_required_duration(raw["gap"]),
            count=int(raw["count"]),
            trades_per_cycle=per_cycle,
        )
    return DailySchedule(
        open_at=time_of_day(raw["open_at"]),
        open_window=_required_duration(raw["open_window"]),
        close_at=time_of_day(raw["close_at"]),
        trades_per_cycle=per_cycle,
    )


def _required_duration(text: str) -> timedelta:
    value = duration(text)
    if value is None:
        raise ValueError("a duration is required")
    return value


def _basis(raw: Mapping[str, Any], default: PriceBasis) -> PriceBasis:
    return PriceBasis(raw["basis"]) if "basis" in raw else default


def _max_loss(raw: Mapping[str, Any]) -> ExitRule:
    if "usd" in raw:
        return MaxLossUsdExit(to_decimal(raw["usd"]), _basis(raw, PriceBasis.FAIR))
    return MaxLossPctExit(to_decimal(raw["pct"]), _basis(raw, PriceBasis.FAIR))


def _leg_greek(raw: Mapping[str, Any]) -> ExitRule:
    direction = Direction.ABOVE if "above" in raw else Direction.BELOW
    return LegGreekExit(int(raw["leg"]), Greek(raw["greek"]), direction,
                        to_decimal(raw[direction.value]))


def _index_move(raw: Mapping[str, Any]) -> ExitRule:
    unit = MoveUnit.USD if "usd" in raw else MoveUnit.PCT
    return IndexMoveExit(to_decimal(raw[unit.value]), unit)


_EXIT_BUILDERS: Final = {
    "profit_target": lambda raw: ProfitTargetExit(
        to_decimal(raw["pct"]), _basis(raw, PriceBasis.EXECUTABLE)),
    "max_loss": _max_loss,
    "max_hold": lambda raw: MaxHoldExit(_required_duration(raw)),
    "time_of_day": lambda raw: TimeOfDayExit(time_of_day(raw)),
    "at_datetime": lambda raw: DateTimeExit(utc_datetime(raw)),
    "end_of_cycle": lambda _raw: EndOfCycleExit(),
    "account_delta_limit": lambda raw: AccountDeltaExit(to_decimal(raw)),
    "structure_delta_limit": lambda raw: StructureDeltaExit(to_decimal(raw)),
    "leg_greek_limit": _leg_greek,
    "before_expiry": lambda raw: BeforeExpiryExit(_required_duration(raw)),
    "index_move": _index_move,
}

EXIT_KEYS: Final = tuple(_EXIT_BUILDERS)


def exit_rule(raw: Mapping[str, Any]) -> ExitRule:
    """One exit item: a mapping with exactly one rule key."""
    ((key, value),) = raw.items()
    return _EXIT_BUILDERS[key](value)
