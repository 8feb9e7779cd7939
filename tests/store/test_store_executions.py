"""Executor state is saved with its trade, in one transaction, and survives reopening."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.store.schema import CURRENT_VERSION, schema_version
from runner.store.store import Store

AT = datetime(2026, 3, 2, 10, tzinfo=UTC)


def opening_trade() -> Trade:
    leg = TradeLeg(0, "BTCUSD-3MAR26-95000-C", Side.BUY, Decimal("0.01"))
    return Trade.create("t1", "demo", (leg,), AT).moved_to(TradeStage.OPENING, "placed", AT)


def test_an_execution_state_is_kept_with_its_trade_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "runner.sqlite3"
    store = Store.open(path, ManualClock(AT))
    store.save_trade_and_execution(opening_trade(), {"kind": "limit", "round": 2})
    store.close()
    reopened = Store.open(path, ManualClock(AT))
    assert reopened.load_executions() == {"t1": {"kind": "limit", "round": 2}}
    assert reopened.load_trade("t1") == opening_trade()
    assert schema_version(reopened.connection) == CURRENT_VERSION


def test_saving_a_trade_without_an_execution_removes_the_old_state(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "runner.sqlite3", ManualClock(AT))
    store.save_trade_and_execution(opening_trade(), {"kind": "limit"})
    opened = opening_trade().moved_to(TradeStage.OPEN, "filled", AT)
    store.save_trade_and_execution(opened, None)
    assert store.load_executions() == {}
    assert store.trade_stage("t1") is TradeStage.OPEN
