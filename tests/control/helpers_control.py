"""Control requests made as the CLI makes them: through a connection of their own."""

from __future__ import annotations

from datetime import timedelta

from runner.store import control_store
from runner.store.control_store import ControlRequest
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml

# Enters at once, holds until an exit or the operator; closes passively first, then at
# the aggressive price (the phase a flatten uses from the start).
PROBE_BODY = """\
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.01
  expiry: {{next: true}}
  call: {{delta: 0.15}}
  put: {{delta: -0.15}}
entry:
  - min_available_margin_pct: 30
timing:
  check_interval: 1s
  cooldown: 1s
  max_concurrent_trades: {concurrent}
  max_trades_per_day: 20
  max_attempts_per_day: 20
execution:
  open: {{mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}}
  close:
    mode: limit
    phases:
      - {{duration: 10m, requote_interval: 5m, price: fair}}
      - {{duration: 1m, requote_interval: 30s, price: aggressive, offset_pct: 1}}
exits:
  - max_hold: {hold}
"""


def probe(tmp_path, name: str, *, hold: str = "1h", concurrent: int = 1):
    return strategy_from_yaml(tmp_path, name, PROBE_BODY.format(hold=hold,
                                                                concurrent=concurrent))


def request(scenario: Scenario, action: str, *targets: str) -> int:
    """Write a request as `runner <action>` does (its own connection, never the service's)."""
    connection = control_store.open_for_request(scenario.runtime.store.path)
    try:
        return control_store.submit(connection, action, targets, scenario.now, "test")
    finally:
        connection.close()


def request_row(scenario: Scenario, request_id: int) -> ControlRequest:
    found = control_store.request_status(scenario.runtime.store.connection, request_id)
    assert found is not None, request_id
    return found


def open_trades(scenario: Scenario, count: int, strategy: str | None = None,
                within: timedelta = timedelta(minutes=2)) -> list[str]:
    """Run until `count` trades (of `strategy`) are OPEN; their ids."""
    from runner.domain.trades import TradeStage

    reached = scenario.run_until(
        scenario.now + within,
        stop=lambda s: len(s.in_stage(TradeStage.OPEN, strategy=strategy)) >= count)
    assert reached, [(t.trade_id, t.stage) for t in scenario.trades()]
    return [t.trade_id for t in scenario.in_stage(TradeStage.OPEN, strategy=strategy)]
