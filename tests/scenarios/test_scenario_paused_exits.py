"""A3: bookkeeping of open and closed trades runs whether or not entries are paused.

The old runner's `tick()` returned early for a disabled strategy, so its open trades were
never closed or reported. Here: a strategy whose entries are blocked (its daily limit is
used up, or it was disabled in its file since the trade opened) still gets its exit, its
close orders and its CLOSED record.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from runner.domain.trades import TradeStage
from tests.scenarios.helpers_scenarios import Scenario, shipped


def _open_one(scenario: Scenario) -> str:
    opened = scenario.run_until(scenario.now + timedelta(minutes=1),
                                stop=lambda s: bool(s.in_stage(TradeStage.OPEN)))
    assert opened
    (trade,) = scenario.trades()
    return trade.trade_id


@pytest.fixture
def micro(tmp_path):
    (spec,) = shipped("micro_strangle")
    once = replace(spec, timing=replace(spec.timing, max_trades_per_day=1))
    scenario = Scenario.start(tmp_path, [once])
    yield scenario
    scenario.close()


def test_a_strategy_at_its_daily_limit_still_closes_and_records_its_open_trade(micro):
    trade_id = _open_one(micro)
    micro.run_for(timedelta(minutes=1))
    checked = [d for r in micro.reports for d in r.decisions if d.entry_checked]
    blocked = checked[-1].blocked_by
    assert blocked is not None  # entries are paused by the daily limit ...
    assert blocked.name == "max_trades_per_day"
    closed = micro.trade(trade_id)  # ... and the trade still exited and was recorded
    assert closed.stage is TradeStage.CLOSED
    assert closed.exit_reason == "max_hold"
    assert [t.trade_id for t in micro.trades()] == [trade_id]
    assert ("closed", trade_id) in [(stage, t.trade_id) for stage, t in micro.stage_changes]
    assert micro.net_positions() == {}


def test_a_strategy_disabled_after_its_trade_opened_still_exits_and_closes_it(micro):
    trade_id = _open_one(micro)
    (spec,) = micro.specs
    micro.restart([replace(spec, enabled=False)])
    micro.run_for(timedelta(minutes=1))
    closed = micro.trade(trade_id)
    assert closed.stage is TradeStage.CLOSED
    assert closed.exit_reason == "max_hold"
    assert [t.trade_id for t in micro.trades()] == [trade_id]  # and no new entry
    assert micro.net_positions() == {}
