"""Issue 7 item 2: a trade keeps the rules it opened with.

A strategy file holding an open trade is edited into an invalid file, deleted, disabled
or changed, and the service restarts: the trade's exit still fires at the rule it opened
with (here `max_hold: 10m`), because the strategy's source documents were stored with
the trade when it opened. New trades of a changed file use the new file.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.strategy import load_strategies
from runner.strategy.model import StrategySpec
from tests.scenarios.helpers_scenarios import Scenario, held_seconds

STRATEGY = """\
version: 1
name: keeper
description: buys a small strangle and holds it for {hold}
enabled: {enabled}
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.01
  expiry: {{next: true}}
  call: {{delta: 0.15}}
  put: {{delta: -0.15}}
timing:
  check_interval: 5s
  max_concurrent_trades: 1
  max_trades_per_day: 2
execution:
  open: {{mode: limit, fill_timeout: 30s, aggressive_buffer_pct: 2}}
exits:
  - max_hold: {hold}
"""
STEP = timedelta(seconds=5)


def write(path: Path, *, hold: str = "10m", enabled: str = "true") -> Path:
    path.write_text(STRATEGY.format(hold=hold, enabled=enabled), encoding="utf-8")
    return path


def load(path: Path) -> list[StrategySpec]:
    """What `runner run` would load from this file now (possibly nothing)."""
    return list(load_strategies([path]).specs)


@pytest.fixture
def opened(tmp_path):
    """A scenario whose `keeper` trade is OPEN, and the trade's id."""
    path = write(tmp_path / "keeper.yaml")
    scenario = Scenario.start(tmp_path, load(path))
    assert scenario.run_until(scenario.now + timedelta(minutes=2), STEP,
                              stop=lambda s: bool(s.in_stage(TradeStage.OPEN)))
    (trade,) = scenario.trades()
    yield scenario, path, trade.trade_id
    scenario.close()


def closes_at_stored_rule(scenario: Scenario, trade_id: str, *, flat: bool = True) -> None:
    scenario.run_for(timedelta(minutes=12), STEP)
    closed = scenario.trade(trade_id)
    assert closed.stage is TradeStage.CLOSED
    assert closed.exit_reason == "max_hold"
    assert 600 <= held_seconds(closed) < 630  # the 10m it opened with
    assert scenario.net_positions() == {} or not flat


def rule_lines(scenario: Scenario) -> list[str]:
    return [str(data["text"]) for kind, data in scenario.events if kind == "trade_rules"]


def test_a_trade_whose_file_became_invalid_still_exits_at_its_stored_rule(opened):
    scenario, path, trade_id = opened
    path.write_text("version: 1\nname: keeper\nlegs: [oops\n", encoding="utf-8")
    assert load(path) == []
    scenario.restart([])
    assert rule_lines(scenario) == [
        f"trade {trade_id} of keeper is managed from its stored copy: its file {path} no "
        "longer defines a valid strategy 'keeper' (invalid, or renamed)"]
    closes_at_stored_rule(scenario, trade_id)


def test_a_trade_whose_file_was_deleted_still_exits_at_its_stored_rule(opened):
    scenario, path, trade_id = opened
    path.unlink()
    scenario.restart([])
    assert "is gone (deleted or renamed)" in rule_lines(scenario)[0]
    closes_at_stored_rule(scenario, trade_id)


def test_a_trade_whose_strategy_was_disabled_still_exits_and_nothing_new_opens(opened):
    scenario, path, trade_id = opened
    scenario.restart(load(write(path, enabled="false")))
    assert "the strategy is disabled" in rule_lines(scenario)[0]
    closes_at_stored_rule(scenario, trade_id)
    assert [t.trade_id for t in scenario.trades()] == [trade_id]


def test_a_changed_file_keeps_the_open_trade_on_its_old_rule_and_new_trades_on_the_new(opened):
    scenario, path, trade_id = opened
    scenario.restart(load(write(path, hold="1h")))
    assert "changed since the trade opened" in rule_lines(scenario)[0]
    closes_at_stored_rule(scenario, trade_id, flat=False)  # the second trade opens at once
    scenario.run_for(timedelta(minutes=30), STEP)
    second = [t for t in scenario.trades() if t.trade_id != trade_id]
    assert [t.stage for t in second] == [TradeStage.OPEN]  # the new file's 1h hold


def test_the_stored_copy_survives_restarts(opened):
    scenario, path, trade_id = opened
    path.write_text(": not yaml", encoding="utf-8")
    scenario.restart([])
    scenario.run_for(timedelta(minutes=1), STEP)
    scenario.restart([])
    copies = scenario.runtime.store.strategy_copies([trade_id])
    assert copies[trade_id].strategy == "keeper"
    assert len(rule_lines(scenario)) == 2  # said once per start
    closes_at_stored_rule(scenario, trade_id)


def test_an_unchanged_file_manages_its_trade_as_always_and_says_nothing(opened):
    scenario, path, trade_id = opened
    scenario.restart(load(path))
    assert rule_lines(scenario) == []
    closes_at_stored_rule(scenario, trade_id, flat=False)


def test_a_trade_from_before_copies_were_kept_falls_back_to_the_current_file(opened):
    scenario, path, trade_id = opened
    with sqlite3.connect(scenario.runtime.store.path) as connection:
        connection.execute("DELETE FROM trade_strategy_copies")
    scenario.restart(load(path))
    assert rule_lines(scenario) == [
        f"trade {trade_id} of keeper is managed from the current file: it opened before "
        "strategy copies were kept"]
    closes_at_stored_rule(scenario, trade_id, flat=False)


def test_a_trade_nothing_can_manage_needs_the_operator_and_is_paged(opened):
    scenario, path, trade_id = opened
    with sqlite3.connect(scenario.runtime.store.path) as connection:
        connection.execute("DELETE FROM trade_strategy_copies")
    path.unlink()
    scenario.restart([])
    (line,) = scenario.service.attention.lines()
    assert line.startswith(f"keeper: trade {trade_id} of keeper is NOT managed")
    paged = scenario.pager.keys(recovered=False)
    assert f"concern.strategy_file.unmanaged.{trade_id}" in paged


def test_an_interrupted_open_resumes_with_the_execution_it_was_decided_with(tmp_path):
    """A1 with a changed file: the open saved before a kill starts by its own rules (a limit
    order), not by the file's new `rfq` open."""
    path = write(tmp_path / "keeper.yaml")
    (spec,) = load(path)
    assert spec.origin is not None
    scenario = Scenario.start(tmp_path, [spec])
    leg = TradeLeg(0, "BTCUSD-3MAR26-90000-C", Side.BUY, Decimal("0.01"))
    stranded = Trade.create("keeper-stranded", "keeper", (leg,), scenario.now)
    store = scenario.runtime.store
    with store.transaction():
        store.save_trade_and_execution(stranded, None)
        store.save_strategy_copy(stranded.trade_id, "keeper", spec.origin.content_hash,
                                 spec.origin.to_json())
    path.write_text(path.read_text(encoding="utf-8").replace(
        "open: {mode: limit, fill_timeout: 30s, aggressive_buffer_pct: 2}",
        "open: {mode: rfq, fallback: none}\n  close: {mode: limit}"), encoding="utf-8")
    (changed,) = load(path)
    scenario.restart([changed])
    scenario.tick()
    assert [o.symbol for o in scenario.orders_of(stranded.trade_id)] == [leg.symbol]
    scenario.close()
