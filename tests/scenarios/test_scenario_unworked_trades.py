"""Trades left without an execution (a kill between two saves, an unfinished flatten)
are worked again by the service, never left hanging (lessons A1, A7, I2)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from tests.scenarios.helpers_scenarios import Scenario, shipped


def _first_open_trade(scenario: Scenario) -> Trade:
    scenario.run_until(scenario.now + timedelta(seconds=8),
                       stop=lambda s: bool(s.in_stage(TradeStage.OPEN)))
    return scenario.in_stage(TradeStage.OPEN)[0]


def test_a_closing_trade_that_lost_its_execution_is_closed_after_a_restart(tmp_path) -> None:
    scenario = Scenario.start(tmp_path, shipped("micro_strangle"))
    trade = _first_open_trade(scenario)
    # The state a kill can leave: the trade decided to close, its execution not saved.
    stranded = trade.with_exit_reason("max_hold").moved_to(
        TradeStage.PENDING_CLOSE, "max_hold: held 10 s", scenario.now)
    scenario.runtime.store.save_trade_and_execution(stranded, None)
    scenario.restart()
    scenario.run_for(timedelta(seconds=40))
    closed = scenario.trade(trade.trade_id)
    assert closed.stage is TradeStage.CLOSED
    assert closed.exit_reason == "max_hold"
    assert all(leg.open_qty == 0 for leg in closed.legs)
    assert all(qty >= 0 for qty in scenario.net_positions().values())  # never over-closed


def _stranded_open(scenario: Scenario, age: timedelta) -> str:
    """A trade saved as PENDING_OPEN whose process died before its first order."""
    leg = TradeLeg(0, "BTCUSD-3MAR26-90000-C", Side.BUY, Decimal("0.01"))
    stranded = Trade.create("micro_strangle-stranded", "micro_strangle", (leg,),
                            scenario.now - age)
    scenario.runtime.store.save_trade_and_execution(stranded, None)
    scenario.restart()
    scenario.tick()
    return stranded.trade_id


def test_a_fresh_open_interrupted_before_any_order_is_started_after_a_restart(tmp_path) -> None:
    """A1: the intent was durable; the restart carries it out, once."""
    scenario = Scenario.start(tmp_path, shipped("micro_strangle"))
    trade_id = _stranded_open(scenario, timedelta(seconds=5))
    assert scenario.trade(trade_id).stage is not TradeStage.PENDING_OPEN
    assert len(scenario.runtime.store.orders_for_trade(trade_id)) == 1


def test_an_old_open_interrupted_before_any_order_fails_and_counts_as_an_attempt(
        tmp_path) -> None:
    scenario = Scenario.start(tmp_path, shipped("micro_strangle"))
    trade_id = _stranded_open(scenario, timedelta(minutes=10))
    failed = scenario.trade(trade_id)
    assert failed.stage is TradeStage.FAILED
    assert failed.transitions[-1].reason.startswith("interrupted before any order was sent")
    assert scenario.runtime.store.orders_for_trade(trade_id) == []
