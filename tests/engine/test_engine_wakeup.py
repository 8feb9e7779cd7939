"""The earliest moment a strategy's gates could reopen (used to skip idle time)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.engine.state import StrategyState
from runner.engine.wakeup import gates_open, next_entry_opportunity
from runner.strategy.model import CycleSchedule, TimingSpec
from tests.builders import make_spec, make_trade

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def fresh_state(**changes: object) -> StrategyState:
    state = StrategyState(launch=NOW, active_trades=(), trades_today=0, attempts_today=0,
                          last_created_at=None, last_entry_check=None)
    return replace(state, **changes)


def timing(**changes: object) -> TimingSpec:
    return replace(TimingSpec(check_interval=timedelta(seconds=5)), **changes)


def test_open_gates_mean_now() -> None:
    spec = make_spec(timing=timing())
    assert gates_open(spec, fresh_state(), NOW)
    assert next_entry_opportunity(spec, fresh_state(), NOW) == NOW


def test_a_check_interval_not_yet_elapsed_reopens_at_the_next_check() -> None:
    spec = make_spec(timing=timing())
    state = fresh_state(last_entry_check=NOW - timedelta(seconds=2))
    assert not gates_open(spec, state, NOW)
    assert next_entry_opportunity(spec, state, NOW) == NOW + timedelta(seconds=3)


def test_a_reached_daily_limit_reopens_at_the_next_utc_midnight() -> None:
    spec = make_spec(timing=timing(max_trades_per_day=2))
    state = fresh_state(trades_today=2, attempts_today=2)
    assert next_entry_opportunity(spec, state, NOW) == datetime(2026, 3, 3, tzinfo=UTC)


def test_a_running_cooldown_reopens_when_it_ends() -> None:
    spec = make_spec(timing=timing(cooldown=timedelta(minutes=5)))
    state = fresh_state(last_created_at=NOW - timedelta(minutes=1))
    assert next_entry_opportunity(spec, state, NOW) == NOW + timedelta(minutes=4)


def test_the_latest_of_several_closed_gates_wins() -> None:
    spec = make_spec(timing=timing(cooldown=timedelta(hours=20), max_trades_per_day=1))
    state = fresh_state(trades_today=1, attempts_today=1, last_created_at=NOW)
    assert next_entry_opportunity(spec, state, NOW) == NOW + timedelta(hours=20)


def test_a_schedule_between_cycles_reopens_at_the_next_window_and_never_after_the_last() -> None:
    schedule = CycleSchedule(first_open_after=timedelta(minutes=1),
                             open_window=timedelta(minutes=5),
                             close_after=timedelta(minutes=10), gap=timedelta(minutes=5),
                             count=3)
    spec = make_spec(timing=timing(), schedule=schedule)
    assert next_entry_opportunity(spec, fresh_state(), NOW) == NOW + timedelta(minutes=1)
    late = NOW + timedelta(hours=1)
    assert next_entry_opportunity(spec, fresh_state(), late) is None


def test_a_strategy_at_its_concurrency_limit_is_never_skipped() -> None:
    spec = make_spec(timing=timing())
    held = make_trade([("BTCUSD-3MAR26-90000-C", Side.BUY, "0.1", 500)], stage=TradeStage.OPEN)
    busy = fresh_state(active_trades=(held,))
    assert next_entry_opportunity(spec, busy, NOW) == NOW
