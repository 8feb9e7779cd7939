"""A trade that fails in the running service says why in its log line (issue 12 item 3).

The real service over the simulator: an RFQ open asking 50 % better than the book, with
no fallback, cannot find a quote; the `trade_stage` event the live log writes for the
move to FAILED carries the same `failure_reason` the store keeps.
"""

from __future__ import annotations

from datetime import timedelta

from runner.domain.trades import TradeStage
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml

DEMANDING = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.5, expiry: {dte: 2},
                call: {delta: 0.05}, put: {delta: -0.05}}
    timing: {check_interval: 5s, max_trades_per_day: 1, max_attempts_per_day: 1}
    execution:
      open: {mode: rfq, timeout: 30s, min_improvement_pct: 50, fallback: none}
      close: {profile: aggressive_limit}
    exits:
      - max_hold: 10m
    """


def test_the_failed_trade_log_event_carries_the_stored_failure_reason(tmp_path) -> None:
    spec = strategy_from_yaml(tmp_path, "demanding", DEMANDING)
    scenario = Scenario.start(tmp_path, [spec])
    scenario.run_for(timedelta(minutes=2))
    (trade,) = scenario.trades("demanding")
    assert trade.stage is TradeStage.FAILED
    assert trade.failure_reason.startswith("no quote beat the book by 50 % within 30s")
    assert trade.failure_reason.endswith("; fallback none")
    failed = [data for kind, data in scenario.events
              if kind == "trade_stage" and data["stage"] == "failed"]
    assert failed == [{"trade": trade.trade_id, "strategy": "demanding", "stage": "failed",
                       "reason": trade.transitions[-1].reason,
                       "failure_reason": trade.failure_reason}]
    scenario.close()
