"""Schema version 3: the strategy copy each trade opened with (issue 7 item 2)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg
from runner.store import schema
from runner.store.store import Store

AT = datetime(2026, 3, 2, 10, tzinfo=UTC)


def a_trade(trade_id: str) -> Trade:
    leg = TradeLeg(0, "BTCUSD-3MAR26-95000-C", Side.BUY, Decimal("0.01"))
    return Trade.create(trade_id, "demo", (leg,), AT)


def test_a_version_2_store_is_migrated_and_its_trades_have_no_copy(tmp_path: Path) -> None:
    path = tmp_path / "runner.sqlite3"
    with sqlite3.connect(path) as connection:
        for version, script in enumerate(schema.MIGRATIONS[:2]):
            connection.executescript(f"{script}\nPRAGMA user_version = {version + 1};")
    with sqlite3.connect(path) as connection:
        assert schema.schema_version(connection) == 2
    store = Store.open(path, ManualClock(AT))
    assert schema.schema_version(store.connection) == schema.CURRENT_VERSION >= 3
    store.save_trade_and_execution(a_trade("t1"), None)
    assert store.strategy_copies(["t1"]) == {}


def test_trades_opened_from_one_file_version_share_one_stored_copy(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "runner.sqlite3", ManualClock(AT))
    for trade_id in ("t1", "t2"):
        with store.transaction():
            store.save_trade_and_execution(a_trade(trade_id), None)
            store.save_strategy_copy(trade_id, "demo", "h1", '[["demo.yaml", "text"]]')
    copies = store.strategy_copies(["t1", "t2", "t3"])
    assert sorted(copies) == ["t1", "t2"]
    assert {c.copy_hash for c in copies.values()} == {"h1"}
    rows = store.connection.execute("SELECT COUNT(*) FROM strategy_copies").fetchone()[0]
    assert rows == 1
