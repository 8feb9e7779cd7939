"""The store keeps trades, legs, transitions and daily counters (lessons A1, I3, E5)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.orders import Side
from runner.domain.trades import TradeLeg, TradeStage
from runner.store import Store, StoreLocationRefused
from runner.store.trade_rows import HistoryRewritten
from tests.store.helpers_store import CALL, PUT, START, make_trade, open_fresh


def test_a_trade_round_trips_with_every_field(tmp_path, clock) -> None:
    store = open_fresh(tmp_path, clock)
    legs = (TradeLeg(0, CALL, Side.BUY, Decimal("0.5"), delta_at_entry=0.15),
            TradeLeg(1, PUT, Side.SELL, Decimal("0.5"), delta_at_entry=-0.15))
    trade = make_trade(legs=legs, cycle=2, index_at_entry=Decimal("68000.5"), execution="rfq",
                       metadata=(("window", "12-13"),))
    trade = trade.moved_to(TradeStage.OPENING, "orders placed", START + timedelta(seconds=1))
    trade = trade.with_leg(trade.legs[0].with_open_fill(Decimal("0.5"), Decimal("101.5"),
                                                        Decimal("0.03")))
    trade = trade.with_leg(trade.legs[1].with_open_fill(Decimal("0.5"), Decimal("88")))
    trade = trade.moved_to(TradeStage.OPEN, "all legs filled", START + timedelta(seconds=2))
    trade = trade.with_exit_reason("stop_loss")
    trade = trade.moved_to(TradeStage.PENDING_CLOSE, "stop_loss", START + timedelta(seconds=3))
    trade = trade.moved_to(TradeStage.CLOSING, "orders placed", START + timedelta(seconds=4))
    for leg in trade.legs:
        trade = trade.with_leg(leg.with_close_fill(Decimal("0.5"), Decimal("90"),
                                                   Decimal("0.01")))
    trade = trade.moved_to(TradeStage.CLOSED, "all legs flat", START + timedelta(seconds=5))
    store.save_trade(trade)
    store.close()

    reopened = open_fresh(tmp_path, clock)
    assert reopened.load_trade("t1") == trade


def test_transitions_are_appended_and_the_table_refuses_rewrites(tmp_path, clock) -> None:
    store = open_fresh(tmp_path, clock)
    trade = make_trade()
    store.save_trade(trade)
    trade = trade.moved_to(TradeStage.OPENING, "orders placed", START)
    store.save_trade(trade)
    store.save_trade(trade)  # saving again adds nothing
    count = store.connection.execute("SELECT COUNT(*) FROM transitions").fetchone()[0]
    assert count == 2
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.connection.execute("UPDATE transitions SET reason = 'edited'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.connection.execute("DELETE FROM transitions")


def test_saving_a_trade_with_a_shorter_or_different_history_is_refused(tmp_path, clock) -> None:
    store = open_fresh(tmp_path, clock)
    original = make_trade()
    store.save_trade(original.moved_to(TradeStage.OPENING, "orders placed", START))
    with pytest.raises(HistoryRewritten):
        store.save_trade(original)
    with pytest.raises(HistoryRewritten):
        store.save_trade(original.moved_to(TradeStage.FAILED, "no price", START))


def test_active_trades_exclude_closed_and_failed_ones(tmp_path, clock) -> None:
    store = open_fresh(tmp_path, clock)
    store.save_trade(make_trade("a"))
    store.save_trade(make_trade("b").moved_to(TradeStage.FAILED, "no price", START))
    store.save_trade(make_trade("c", strategy="other"))
    assert [t.trade_id for t in store.load_active_trades()] == ["a", "c"]
    assert [t.trade_id for t in store.load_active_trades("demo")] == ["a"]
    assert [t.trade_id for t in store.load_trades("demo")] == ["a", "b"]
    assert store.load_trades("demo", since=START + timedelta(seconds=1)) == []


def test_daily_counts_and_cooldown_survive_reopening_the_store(tmp_path, clock) -> None:
    """A1: quotas and cooldowns come from the durable trades, so a restart cannot reset them."""
    store = open_fresh(tmp_path, clock)
    store.save_trade(make_trade("a", at=START))
    store.save_trade(make_trade("b", at=START + timedelta(hours=1)))
    store.save_trade(make_trade("c", at=START + timedelta(days=1)))
    store.close()

    reopened = open_fresh(tmp_path, clock)
    assert reopened.trades_created_on("demo", START.date()) == 2
    assert reopened.trades_created_on("demo", (START + timedelta(days=1)).date()) == 1
    assert reopened.trades_created_on("other", START.date()) == 0
    assert reopened.last_trade_created_at("demo") == START + timedelta(days=1)
    assert reopened.last_trade_created_at("other") is None


def test_utc_day_boundaries_are_exact(tmp_path, clock) -> None:
    store = open_fresh(tmp_path, clock)
    midnight = START.replace(hour=0)
    store.save_trade(make_trade("late", at=midnight - timedelta(microseconds=1)))
    store.save_trade(make_trade("early", at=midnight))
    assert store.trades_created_on("demo", midnight.date()) == 1
    assert store.trades_created_on("demo", (midnight - timedelta(days=1)).date()) == 1


def test_failed_opens_count_as_attempts_but_not_as_trades(tmp_path, clock) -> None:
    """I3: one failed open must not use the day's only trade; attempts are counted apart."""
    store = open_fresh(tmp_path, clock)
    store.save_trade(make_trade("a").moved_to(TradeStage.FAILED, "no fill", START))
    store.save_trade(make_trade("b", at=START + timedelta(minutes=5)))
    assert store.trades_created_on("demo", START.date()) == 1
    assert store.attempts_on("demo", START.date()) == 2
    assert store.last_trade_created_at("demo") == START + timedelta(minutes=5)


def test_strategies_seen_keep_first_and_last_sighting(tmp_path, clock) -> None:
    store = open_fresh(tmp_path, clock)
    store.note_strategy("demo", "hash1")
    clock.advance(timedelta(hours=1))
    store.note_strategy("demo", "hash2")
    [(name, first, last, spec_hash)] = store.strategies_seen()
    assert (name, first, last, spec_hash) == ("demo", START, START + timedelta(hours=1), "hash2")


def test_held_quantity_sums_what_active_trades_still_hold(tmp_path, clock) -> None:
    store = open_fresh(tmp_path, clock)
    trade = make_trade()
    trade = trade.with_leg(trade.legs[0].with_open_fill(Decimal("0.5"), Decimal(100)))
    store.save_trade(trade)
    assert store.held_quantity() == Decimal("0.5")


def test_a_failed_change_leaves_nothing_behind(tmp_path, clock) -> None:
    store = open_fresh(tmp_path, clock)

    def change_that_crashes() -> None:
        with store.transaction():
            store.save_trade(make_trade("a"))
            raise RuntimeError("crash in the middle of a change")

    with pytest.raises(RuntimeError):
        change_that_crashes()
    assert store.load_trade("a") is None


def test_the_store_is_configured_for_durability(tmp_path, clock) -> None:
    store = open_fresh(tmp_path, clock)
    pragma = store.connection.execute
    assert pragma("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert pragma("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert pragma("PRAGMA foreign_keys").fetchone()[0] == 1
    assert pragma("PRAGMA user_version").fetchone()[0] >= 1


def test_the_store_refuses_to_live_under_logs(tmp_path, clock) -> None:
    """A9: state lives apart from disposable logs."""
    with pytest.raises(StoreLocationRefused):
        Store.open(tmp_path / "logs" / "runner.sqlite3", clock)


def test_the_store_belongs_to_the_thread_that_opened_it(tmp_path, clock) -> None:
    """One writer: another thread cannot write through this connection."""
    import threading

    store = open_fresh(tmp_path, clock)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            store.save_trade(make_trade("x"))
        except sqlite3.ProgrammingError as exc:
            errors.append(exc)

    worker = threading.Thread(target=write)
    worker.start()
    worker.join()
    assert len(errors) == 1
