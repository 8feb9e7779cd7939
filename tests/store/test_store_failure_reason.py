"""Schema version 4: a failed trade's reason is stored with it; older stores still open.

A store written before version 4 is migrated forward and its failed trades take the
reason of their move to FAILED; `runner status` reads stores read-only (no migration),
so a version 3 store read that way gives the same reason.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from runner.cli.status_report import strategy_trades
from runner.domain.trades import TradeStage
from runner.store import Store, schema
from runner.store.store import default_store_path
from tests.store.helpers_store import START, make_trade

GAVE_UP = "entry orders not filled within 1m (2 pricing rounds, 0 requotes): leg 0 0/0.5 X"


def failed_trade(trade_id: str = "t1"):
    trade = make_trade(trade_id).with_failure_reason(GAVE_UP)
    return trade.moved_to(TradeStage.FAILED, "open failed after 2 rounds, nothing filled",
                          START + timedelta(minutes=1))


def version_3_store(path: Path) -> None:
    """A store as a runner before version 4 wrote it, with one failed trade."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        for version, script in enumerate(schema.MIGRATIONS[:3]):
            assert isinstance(script, str)
            connection.executescript(f"{script}\nPRAGMA user_version = {version + 1};")
        connection.execute(
            "INSERT INTO trades (trade_id, strategy, stage, created_at, execution, updated_at)"
            " VALUES ('old', 'demo', 'failed', '2026-03-01T10:00:00.000000+00:00', 'limit',"
            " '2026-03-01T10:01:00.000000+00:00')")
        connection.executemany(
            "INSERT INTO transitions (trade_id, seq, from_stage, to_stage, reason, at)"
            " VALUES ('old', ?, ?, ?, ?, '2026-03-01T10:01:00.000000+00:00')",
            [(0, None, "pending_open", "entry conditions passed"),
             (1, "pending_open", "failed", "not opened, no order placed: no ask")])


def test_a_failed_trade_keeps_its_reason_across_a_reopen(tmp_path, clock) -> None:
    path = tmp_path / "runner.sqlite3"
    store = Store.open(path, clock)
    store.save_trade(failed_trade())
    store.close()
    reopened = Store.open(path, clock)
    assert reopened.load_trade("t1").failure_reason == GAVE_UP
    reopened.close()


def test_a_version_3_store_opens_and_its_failed_trades_take_their_last_reason(
        tmp_path, clock) -> None:
    path = tmp_path / "runner.sqlite3"
    version_3_store(path)
    store = Store.open(path, clock)
    assert schema.schema_version(store.connection) == schema.CURRENT_VERSION >= 4
    assert store.load_trade("old").failure_reason == "not opened, no order placed: no ask"
    stored = store.connection.execute(
        "SELECT failure_reason FROM trades WHERE trade_id = 'old'").fetchone()[0]
    assert stored == "not opened, no order placed: no ask"
    store.close()


def test_status_reads_a_version_3_store_without_migrating_it(tmp_path) -> None:
    state = tmp_path / "state"
    version_3_store(default_store_path(state))
    (old,) = strategy_trades(state, "demo")
    assert old.failure_reason == "not opened, no order placed: no ask"
    with sqlite3.connect(default_store_path(state)) as connection:
        assert schema.schema_version(connection) == 3


def test_a_migration_met_twice_keeps_the_column_and_its_reasons(tmp_path, clock) -> None:
    path = tmp_path / "runner.sqlite3"
    store = Store.open(path, clock)
    store.save_trade(failed_trade())
    store.close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 3")
    reopened = Store.open(path, clock)
    assert reopened.load_trade("t1").failure_reason == GAVE_UP
    reopened.close()
