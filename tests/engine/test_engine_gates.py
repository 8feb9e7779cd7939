"""Per-strategy gates and the check interval: the order, each gate, and the state they read."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.engine.state import state_from_trades
from runner.strategy.model import MaxHoldExit, MinEquityCondition, TimingSpec
from tests.builders import NOW, make_snapshot, make_spec, make_trade
from tests.engine.helpers_engine import check, decide_at, names, state

SYMBOL = "BTCUSD-3MAR26-90000-C"


def _trade(stage: TradeStage, *, trade_id: str = "t-1", created_ago: timedelta = timedelta(0)):
    return make_trade([(SYMBOL, Side.BUY, "0.1", 500)], stage=stage, trade_id=trade_id,
                      created_at=NOW - created_ago)


def test_gates_are_reported_in_the_documented_order_before_the_entry_conditions() -> None:
    spec = make_spec(entry=[MinEquityCondition(Decimal(1))])
    assert names(decide_at(spec)) == [
        "max_concurrent_trades", "cooldown", "max_trades_per_day", "max_attempts_per_day",
        "min_equity_usd", "legs"]


def test_when_several_gates_block_the_first_in_order_is_named() -> None:
    spec = make_spec(timing=TimingSpec(cooldown=timedelta(hours=1), max_trades_per_day=1))
    busy = state(active_trades=(_trade(TradeStage.OPEN),), last_created_at=NOW,
                 trades_today=1, attempts_today=1)
    decision = decide_at(spec, strategy_state=busy)
    assert decision.open is None
    failed = [c.name for c in decision.checks if not c.passed]
    assert failed == ["max_concurrent_trades", "cooldown", "max_trades_per_day"]
    assert decision.blocked_by is not None
    assert decision.blocked_by.name == "max_concurrent_trades"


# -- concurrent trades -------------------------------------------------------------------------
@pytest.mark.parametrize("stage", [TradeStage.PENDING_OPEN, TradeStage.OPENING,
                                   TradeStage.OPEN, TradeStage.PENDING_CLOSE,
                                   TradeStage.CLOSING])
def test_every_non_terminal_trade_counts_against_max_concurrent(stage: TradeStage) -> None:
    busy = state(active_trades=(_trade(stage),))
    result = check(decide_at(make_spec(), strategy_state=busy), "max_concurrent_trades")
    assert not result.passed
    assert result.detail == "1 active of at most 1"


def test_a_second_trade_opens_when_two_may_run_at_once() -> None:
    spec = make_spec(timing=TimingSpec(max_concurrent_trades=2, max_trades_per_day=None))
    busy = state(active_trades=(_trade(TradeStage.OPEN),))
    assert decide_at(spec, strategy_state=busy).open is not None


# -- cooldown ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("ago", "passes"), [(timedelta(seconds=9), False),
                                             (timedelta(seconds=10), True)])
def test_cooldown_blocks_until_it_has_run_since_the_last_creation(ago: timedelta,
                                                                  passes: bool) -> None:
    spec = make_spec(timing=TimingSpec(cooldown=timedelta(seconds=10)))
    recent = state(last_created_at=NOW - ago)
    assert check(decide_at(spec, strategy_state=recent), "cooldown").passed is passes


def test_a_zero_cooldown_never_blocks() -> None:
    recent = state(last_created_at=NOW)
    assert check(decide_at(make_spec(), strategy_state=recent), "cooldown").passed


# -- trades and attempts per day -------------------------------------------------------------------
def test_the_daily_trade_quota_blocks_until_the_next_utc_day() -> None:
    """A2: the quota only blocks entries; it names when they resume."""
    spec = make_spec(timing=TimingSpec(max_trades_per_day=2))
    result = check(decide_at(spec, strategy_state=state(trades_today=2, attempts_today=2)),
                   "max_trades_per_day")
    assert not result.passed
    assert result.detail == ("2 of 2 trades today (UTC); entries resume at "
                             "2026-03-03T00:00:00+00:00")


def test_an_unlimited_daily_quota_never_blocks() -> None:
    spec = make_spec(timing=TimingSpec(max_trades_per_day=None, max_attempts_per_day=None))
    decision = decide_at(spec, strategy_state=state(trades_today=500, attempts_today=900))
    assert decision.open is not None


def test_i3_attempts_per_day_block_separately_from_trades() -> None:
    """I3: failed opens use attempts, not the day's trades."""
    spec = make_spec(timing=TimingSpec(max_trades_per_day=1, max_attempts_per_day=3))
    tried = state(trades_today=0, attempts_today=3)
    decision = decide_at(spec, strategy_state=tried)
    assert check(decision, "max_trades_per_day").passed
    assert not check(decision, "max_attempts_per_day").passed


def test_i3_one_failed_open_does_not_use_the_days_only_trade() -> None:
    failed = _trade(TradeStage.FAILED, created_ago=timedelta(minutes=5))
    derived = state_from_trades(NOW, [failed], NOW)
    assert (derived.trades_today, derived.attempts_today) == (0, 1)
    spec = make_spec(timing=TimingSpec(max_trades_per_day=1, max_attempts_per_day=3))
    assert decide_at(spec, strategy_state=derived).open is not None


def test_a2_yesterdays_trade_does_not_count_today() -> None:
    yesterday = _trade(TradeStage.CLOSED, created_ago=timedelta(hours=11))
    derived = state_from_trades(NOW - timedelta(days=1), [yesterday], NOW)
    assert (derived.trades_today, derived.attempts_today) == (0, 0)
    assert decide_at(make_spec(), strategy_state=derived).open is not None


def test_state_from_trades_derives_every_field() -> None:
    trades = [
        replace(_trade(TradeStage.CLOSED, trade_id="a", created_ago=timedelta(hours=2)),
                cycle=0),
        replace(_trade(TradeStage.FAILED, trade_id="b", created_ago=timedelta(hours=1)),
                cycle=1),
        replace(_trade(TradeStage.OPEN, trade_id="c", created_ago=timedelta(minutes=5)),
                cycle=1),
    ]
    derived = state_from_trades(NOW - timedelta(hours=3), trades, NOW, NOW - timedelta(seconds=5))
    assert [t.trade_id for t in derived.active_trades] == ["c"]
    assert derived.trades_today == 2  # a and c reached OPEN
    assert derived.attempts_today == 3
    assert derived.last_created_at == NOW - timedelta(minutes=5)
    assert derived.last_entry_check == NOW - timedelta(seconds=5)
    assert dict(derived.trades_per_cycle) == {0: 1, 1: 2}
    assert str(derived.notional_open_usd) == "9000.0"  # 90,000 x 0.1


# -- check interval ------------------------------------------------------------------------
def test_entry_is_not_evaluated_before_the_check_interval_has_elapsed() -> None:
    spec = make_spec(timing=TimingSpec(check_interval=timedelta(seconds=60)))
    early = decide_at(spec, strategy_state=state(last_entry_check=NOW - timedelta(seconds=59)))
    assert not early.entry_checked
    assert early.checks == ()
    assert early.open is None
    due = decide_at(spec, strategy_state=state(last_entry_check=NOW - timedelta(seconds=60)))
    assert due.entry_checked
    assert due.open is not None


def test_exits_are_evaluated_every_call_whatever_the_check_interval() -> None:
    spec = make_spec(exits=(MaxHoldExit(timedelta(seconds=10)),),
                     timing=TimingSpec(check_interval=timedelta(minutes=5)))
    held = make_trade([(SYMBOL, Side.BUY, "0.1", 500)], created_at=NOW - timedelta(minutes=1))
    decision = decide_at(spec, strategy_state=state(active_trades=(held,), last_entry_check=NOW))
    assert not decision.entry_checked
    assert [c.reason for c in decision.closes] == ["max_hold"]


def test_a3_a_disabled_strategy_opens_nothing_but_still_closes_its_trades() -> None:
    spec = make_spec(enabled=False, exits=(MaxHoldExit(timedelta(seconds=10)),))
    held = make_trade([(SYMBOL, Side.BUY, "0.1", 500)], created_at=NOW - timedelta(minutes=1))
    decision = decide_at(spec, strategy_state=state(active_trades=(held,)),
                         snapshot=make_snapshot())
    assert decision.open is None
    assert decision.blocked_by is not None
    assert decision.blocked_by.name == "enabled"
    assert [c.trade_id for c in decision.closes] == ["t-1"]
