"""The next moment a strategy's decision can change (engine/moments.py): where a
simulation stepping by events sets its clock (issue 12 item 1).

NOW is Monday 2 March 2026 10:00 UTC.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.engine.exits import exit_checks, exit_moments
from runner.engine.moments import clock_allows_from, next_check, next_moment, on_check_grid
from runner.strategy.model import (
    AllOf,
    AnyOf,
    BeforeExpiryExit,
    MaxHoldExit,
    MaxLossPctExit,
    MinEquityCondition,
    TimeOfDayExit,
    TimeWindowCondition,
    TimingSpec,
    UtcWindowCondition,
    Weekday,
    WeekdaysCondition,
)
from tests.builders import NOW, make_snapshot, make_spec, make_trade
from tests.engine.helpers_engine import state

SYMBOL = "BTCUSD-4MAR26-90000-C"  # expires Wednesday 4 March 08:00 UTC
EVERY_30S = TimingSpec(check_interval=timedelta(seconds=30), max_trades_per_day=1)
NOON_WINDOW = TimeWindowCondition(time(12), time(13))


def _held(**changes: object):
    return make_trade([(SYMBOL, Side.SELL, "0.1", 500)], created_at=NOW - timedelta(hours=1),
                      **changes)


def test_checks_stay_on_the_grid_of_the_last_one() -> None:
    last = NOW - timedelta(seconds=10)
    assert next_check(EVERY_30S, last, NOW) == NOW + timedelta(seconds=20)
    assert next_check(EVERY_30S, last, NOW + timedelta(hours=2, seconds=1)) == \
        NOW + timedelta(hours=2, seconds=20)
    assert next_check(EVERY_30S, NOW, NOW) == NOW + timedelta(seconds=30)  # never again
    assert next_check(EVERY_30S, None, NOW) == NOW
    assert on_check_grid(EVERY_30S, last, NOW + timedelta(seconds=50))
    assert not on_check_grid(EVERY_30S, last, NOW + timedelta(seconds=51))


def test_a_strategy_outside_its_time_window_wakes_at_the_first_check_inside_it() -> None:
    spec = make_spec(entry=[NOON_WINDOW], timing=EVERY_30S)
    last = NOW - timedelta(seconds=13)  # the grid: 10:00:17, 10:00:47, ...
    assert next_moment(spec, state(last_entry_check=last), NOW) == \
        datetime(2026, 3, 2, 12, 0, 17, tzinfo=UTC)


def test_weekdays_and_a_window_wake_on_the_next_allowed_day() -> None:
    friday_noon = AllOf((WeekdaysCondition(frozenset({Weekday.FRI})), NOON_WINDOW))
    assert clock_allows_from(friday_noon, NOW) == datetime(2026, 3, 6, tzinfo=UTC)
    assert clock_allows_from(NOON_WINDOW, datetime(2026, 3, 6, tzinfo=UTC)) == \
        datetime(2026, 3, 6, 12, tzinfo=UTC)


def test_conditions_of_the_market_and_any_groups_are_taken_to_pass() -> None:
    assert clock_allows_from(MinEquityCondition(Decimal(1)), NOW) == NOW
    either = AnyOf((NOON_WINDOW, MinEquityCondition(Decimal(1))))
    assert clock_allows_from(either, NOW) == NOW
    past = UtcWindowCondition(NOW - timedelta(days=2), NOW - timedelta(days=1))
    assert clock_allows_from(past, NOW) is None


def test_a_reached_daily_limit_waits_for_the_first_check_of_the_next_day() -> None:
    spec = make_spec(timing=EVERY_30S)
    done = state(trades_today=1, attempts_today=1, last_entry_check=NOW)
    assert next_moment(spec, done, NOW) == datetime(2026, 3, 3, tzinfo=UTC)


def test_a_held_trade_with_market_exits_is_checked_at_every_check() -> None:
    spec = make_spec(timing=EVERY_30S, exits=(MaxLossPctExit(Decimal(50)),))
    held = state(active_trades=(_held(),), trades_today=1, attempts_today=1,
                 last_entry_check=NOW)
    assert next_moment(spec, held, NOW) == NOW + timedelta(seconds=30)


def test_a_held_trade_with_clock_exits_only_wakes_at_the_first_of_them_or_its_expiry() -> None:
    spec = make_spec(timing=EVERY_30S, exits=(MaxHoldExit(timedelta(hours=3)),
                                               TimeOfDayExit(time(20))))
    held = state(active_trades=(_held(),), trades_today=1, attempts_today=1,
                 last_entry_check=NOW)
    assert next_moment(spec, held, NOW) == NOW + timedelta(hours=2)  # opened 09:00 + 3 h
    spec = make_spec(timing=EVERY_30S)
    assert next_moment(spec, held, NOW) == datetime(2026, 3, 4, 8, tzinfo=UTC)  # settle


@pytest.mark.parametrize("rule", [
    MaxHoldExit(timedelta(minutes=90)), TimeOfDayExit(time(20)),
    BeforeExpiryExit(timedelta(hours=1))], ids=["max_hold", "time_of_day", "before_expiry"])
def test_a_clock_exit_s_moment_is_exactly_where_its_rule_starts_to_fire(rule) -> None:
    spec = make_spec(exits=(rule,))
    trade = _held()
    (moment,) = exit_moments(spec, trade, NOW)

    def fires(at: datetime) -> bool:
        (check,) = exit_checks(spec, trade, NOW, make_snapshot(at), at)
        return check.fired

    assert not fires(moment - timedelta(seconds=1))
    assert fires(moment)


def test_a_disabled_strategy_wakes_only_for_its_trades() -> None:
    spec = make_spec(enabled=False, timing=EVERY_30S)
    assert next_moment(spec, state(), NOW) is None
    closing = replace(_held(stage=TradeStage.CLOSING))
    assert next_moment(spec, state(active_trades=(closing,)), NOW) == \
        datetime(2026, 3, 4, 8, tzinfo=UTC)
