"""An entry a clock condition blocks reads no chain: the tick need not read one for it.

The service leaves a strategy's entry chain out of the tick's reads when a top-level
weekdays, time window or UTC window condition fails now and no condition needs the
trade's own legs (`blocked_by_clock`, issue 12): given such a strategy and a time, the
checks are the same with the chain read as without it, and nothing opens.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time

import pytest

from runner.engine.conditions import blocked_by_clock
from runner.strategy.model import (
    AllOf,
    AnyOf,
    EntryCondition,
    MinAvailableMarginCondition,
    NoExistingPositionCondition,
    TimeWindowCondition,
    UtcWindowCondition,
    Weekday,
    WeekdaysCondition,
)
from tests.builders import make_snapshot, make_spec
from tests.engine.helpers_engine import decide_at

MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FRIDAYS = WeekdaysCondition(frozenset({Weekday.FRI}))
MONDAYS = WeekdaysCondition(frozenset({Weekday.MON}))
EVENING = TimeWindowCondition(time(20, 0), time(22, 0))
MARGIN = MinAvailableMarginCondition(50)
OWN_LEGS = NoExistingPositionCondition(())


def _entry(*conditions: EntryCondition) -> AllOf:
    return AllOf(tuple(conditions))


@pytest.mark.parametrize(("conditions", "blocked"), [
    ((FRIDAYS, MARGIN), True),  # not a Friday
    ((MARGIN, EVENING), True),  # outside 20:00-22:00, wherever it is listed
    ((UtcWindowCondition(datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 6, tzinfo=UTC)),),
     True),
    ((MONDAYS, MARGIN), False),  # the clock allows it: the entry reads its chain
    ((MARGIN,), False),
    ((FRIDAYS, OWN_LEGS), False),  # the trade's own legs are resolved for this check
    ((FRIDAYS, AnyOf((MARGIN, OWN_LEGS))), False),  # ... however deep it is
    ((FRIDAYS, NoExistingPositionCondition(("BTCUSD-6MAR26-90000-C",))), True),
    ((AnyOf((FRIDAYS, MARGIN)),), False),  # a clock condition inside a group may not decide
])
def test_a_failing_clock_condition_blocks_unless_the_legs_are_needed(
        conditions: tuple[EntryCondition, ...], blocked: bool) -> None:
    assert blocked_by_clock(_entry(*conditions), MONDAY_NOON) is blocked


@pytest.mark.parametrize("conditions", [
    (FRIDAYS, MARGIN), (MARGIN, EVENING),
    (FRIDAYS, NoExistingPositionCondition(("BTCUSD-6MAR26-90000-C",)))])
def test_a_blocked_entry_decides_the_same_without_its_chain(
        conditions: tuple[EntryCondition, ...]) -> None:
    spec = make_spec(entry=_entry(*conditions))
    assert blocked_by_clock(spec.entry, MONDAY_NOON)
    read = make_snapshot(MONDAY_NOON)
    unread = replace(read, chains={})  # the chain left out of the tick's reads
    with_chain, without = (decide_at(spec, MONDAY_NOON, snapshot=s) for s in (read, unread))
    assert with_chain.open is None
    assert without.open is None
    assert [(c.name, c.passed, str(c)) for c in with_chain.checks] == [
        (c.name, c.passed, str(c)) for c in without.checks]
    assert with_chain.unresolved == without.unresolved


def test_an_entry_that_resolves_its_own_legs_would_read_differently_without_its_chain() -> None:
    """Why such an entry is never left without its chain: its no_existing_position check
    names the trade's legs, which only the chain can tell."""
    spec = make_spec(entry=_entry(FRIDAYS, OWN_LEGS))
    assert not blocked_by_clock(spec.entry, MONDAY_NOON)
    read = make_snapshot(MONDAY_NOON)
    with_chain, without = (decide_at(spec, MONDAY_NOON, snapshot=s)
                           for s in (read, replace(read, chains={})))
    assert [str(c) for c in with_chain.checks] != [str(c) for c in without.checks]
