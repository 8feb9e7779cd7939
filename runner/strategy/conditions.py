"""Entry conditions: YAML items to the `EntryCondition` tree of the model.

`entry:` is a list whose items must all pass (an implicit `all`); an item is a
mapping with exactly one key: a condition, or `all:` / `any:` holding a nested list.
Evaluation is the engine's; this module only builds the tree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from runner.strategy.convert import time_of_day, to_decimal, utc_datetime
from runner.strategy.model import (
    AllOf,
    AnyOf,
    EntryCondition,
    MaxAccountDeltaCondition,
    MaxMarginUtilisationCondition,
    MinAvailableMarginCondition,
    MinEquityCondition,
    NoExistingPositionCondition,
    TimeWindowCondition,
    UtcWindowCondition,
    Weekday,
    WeekdaysCondition,
)


def _no_existing_position(raw: Any) -> NoExistingPositionCondition:
    if isinstance(raw, Mapping):
        return NoExistingPositionCondition(tuple(raw["instruments"]))
    return NoExistingPositionCondition()


_BUILDERS: Final[dict[str, Callable[[Any], EntryCondition]]] = {
    "time_window": lambda raw: TimeWindowCondition(time_of_day(raw["start"]),
                                                   time_of_day(raw["end"])),
    "utc_window": lambda raw: UtcWindowCondition(utc_datetime(raw["start"]),
                                                 utc_datetime(raw["end"])),
    "weekdays": lambda raw: WeekdaysCondition(frozenset(Weekday(day) for day in raw)),
    "min_available_margin_pct": lambda raw: MinAvailableMarginCondition(to_decimal(raw)),
    "min_equity_usd": lambda raw: MinEquityCondition(to_decimal(raw)),
    "max_account_delta": lambda raw: MaxAccountDeltaCondition(to_decimal(raw)),
    "max_margin_utilisation_pct": lambda raw: MaxMarginUtilisationCondition(to_decimal(raw)),
    "no_existing_position": _no_existing_position,
    "all": lambda raw: AllOf(conditions(raw)),
    "any": lambda raw: AnyOf(conditions(raw)),
}

CONDITION_KEYS: Final = tuple(_BUILDERS)


def condition(raw: Mapping[str, Any]) -> EntryCondition:
    ((key, value),) = raw.items()
    return _BUILDERS[key](value)


def conditions(items: Sequence[Mapping[str, Any]]) -> tuple[EntryCondition, ...]:
    return tuple(condition(item) for item in items)


def entry_rule(items: Sequence[Mapping[str, Any]]) -> AllOf:
    """The whole `entry:` list as one `AllOf` (empty = always passes)."""
    return AllOf(conditions(items))
