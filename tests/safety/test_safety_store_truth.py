"""The exchange is the truth for what is live (issue 7 item 1).

A strategy allowed one trade a day opens a strangle; then its store is damaged (0 bytes,
NUL-filled, half-truncated) and the service restarts over the same exchange. Before
issue 7 the store started empty and a second strangle was opened one tick later. Now
the difference between the exchange and the store is a concern that blocks every entry
and says DECISION NEEDED with the commands; it clears by itself once the difference is
explained (adopted, declared external, closed on the exchange), without a restart. A
brand-new store over a flat account is not a concern: the first start just trades.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.cli.status_report import read_status
from runner.domain.orders import OrderRequest, Side
from runner.domain.trades import TradeStage
from runner.reconcile import adopt_positions
from runner.reconcile.external import declare_external
from runner.service.store_guard import CHECK_EVERY, POSITIONS_KEY, QUARANTINED_KEY
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml

ONCE_A_DAY = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                call: {delta: 0.15}, put: {delta: -0.15}}
    timing: {check_interval: 1s, cooldown: 1s, max_concurrent_trades: 1,
             max_trades_per_day: 1, max_attempts_per_day: 1}
    execution:
      open: {mode: limit, fill_timeout: 5s, requote_rounds: 20, aggressive_buffer_pct: 2}
      close: {mode: limit, fill_timeout: 5s, requote_rounds: 20, aggressive_buffer_pct: 2}
    exits:
      - max_hold: 2h
    """


def zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def nul_filled(path: Path) -> None:
    path.write_bytes(b"\0" * path.stat().st_size)


def half_truncated(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


Damage = Callable[[Path], None]


def opened_once(tmp_path: Path) -> Scenario:
    spec = strategy_from_yaml(tmp_path, "once", ONCE_A_DAY)
    scenario = Scenario.start(tmp_path, [spec])
    scenario.run_for(timedelta(seconds=30))
    assert [t.stage for t in scenario.trades()] == [TradeStage.OPEN]
    assert len(scenario.net_positions()) == 2
    return scenario


def restart_over_damage(scenario: Scenario, damage: Damage) -> None:
    store = scenario.runtime.store
    store.close()  # the last connection: SQLite folds the WAL into the file
    damage(store.path)
    scenario.clock.advance(timedelta(seconds=5))
    scenario.restart()


@pytest.mark.parametrize("damage", [zero_bytes, nul_filled, half_truncated],
                         ids=["zero-bytes", "nul-filled", "half-truncated"])
def test_a_damaged_store_restarted_over_live_positions_opens_nothing_and_asks_for_a_decision(
        tmp_path: Path, damage: Damage) -> None:
    scenario = opened_once(tmp_path)
    held = scenario.net_positions()
    restart_over_damage(scenario, damage)

    assert scenario.runtime.opening.needs_alert  # quarantined, with an alert
    scenario.run_for(timedelta(minutes=2))

    assert scenario.trades() == []  # no second strangle
    assert scenario.net_positions() == held
    concern = scenario.service.attention.entry_block("once")
    assert concern is not None
    assert "DECISION NEEDED" in concern
    assert "runner trades adopt" in concern
    assert "runner run --adopt" in concern
    assert scenario.service.attention.is_open(QUARANTINED_KEY)
    lines = scenario.service.attention.lines()  # what the heartbeat carries to `runner health`
    assert any("DECISION NEEDED" in line and "(entries blocked)" in line for line in lines)
    assert any(key == "concern_raised" and data["key"] == POSITIONS_KEY
               for key, data in scenario.events)
    status = read_status(scenario.settings.state_dir, scenario.now)
    assert status["store_check"] is not None
    assert status["store_check"].startswith("DECISION NEEDED")
    scenario.close()


def test_adopting_the_positions_clears_the_concern_and_the_adopted_trade_is_managed(
        tmp_path: Path) -> None:
    scenario = opened_once(tmp_path)
    restart_over_damage(scenario, zero_bytes)
    scenario.run_for(timedelta(seconds=5))
    assert scenario.service.attention.is_open(POSITIONS_KEY)

    scenario.runtime.store.close()  # the operator stops the service and adopts
    scenario.restart()
    adopted = adopt_positions(scenario.runtime.store, scenario.venue, scenario.now)
    assert len(adopted) == 2
    scenario.restart()
    scenario.run_for(timedelta(seconds=5))

    assert not scenario.service.attention.is_open(POSITIONS_KEY)
    assert read_status(scenario.settings.state_dir, scenario.now)["store_check"] is None
    scenario.close()


def test_positions_closed_on_the_exchange_clear_the_concern_without_a_restart(
        tmp_path: Path) -> None:
    scenario = opened_once(tmp_path)
    restart_over_damage(scenario, nul_filled)
    scenario.run_for(timedelta(seconds=5))
    assert scenario.service.attention.is_open(POSITIONS_KEY)

    for number, (symbol, qty) in enumerate(scenario.net_positions().items()):
        book = scenario.venue.orderbook(symbol, fresh=True)  # the operator sells by hand
        scenario.venue.place_order(OrderRequest(symbol, Side.SELL, qty, book.best_bid,
                                                7770 + number, reduce_only=True))
    assert scenario.net_positions() == {}
    scenario.run_for(CHECK_EVERY + timedelta(seconds=2))

    assert not scenario.service.attention.is_open(POSITIONS_KEY)
    scenario.close()


def test_positions_declared_external_are_left_alone_and_no_longer_block(
        tmp_path: Path) -> None:
    scenario = opened_once(tmp_path)
    held = scenario.net_positions()
    restart_over_damage(scenario, zero_bytes)
    scenario.run_for(timedelta(seconds=5))
    assert scenario.service.attention.is_open(POSITIONS_KEY)

    lines = declare_external(scenario.runtime.store, scenario.venue, held, scenario.now)
    assert len(lines) == 2
    scenario.run_for(CHECK_EVERY + timedelta(seconds=2))

    assert not scenario.service.attention.is_open(POSITIONS_KEY)
    assert scenario.net_positions() == held  # nothing was sent for them
    assert scenario.trades() == []  # and its one trade of the day was recounted
    scenario.close()


def test_a_brand_new_store_over_a_flat_account_trades_at_once_without_a_concern(
        tmp_path: Path) -> None:
    scenario = opened_once(tmp_path)
    assert scenario.service.attention.lines() == ()
    assert not any(key == "concern_raised" for key, _ in scenario.events)
    scenario.close()


def test_a_position_opened_by_hand_while_running_blocks_entries_after_two_checks(
        tmp_path: Path) -> None:
    """Mid-run a difference must be seen twice in a row (a fill between reads is not one)."""
    scenario = opened_once(tmp_path)
    trade = scenario.trades()[0]
    symbol = trade.legs[0].symbol
    book = scenario.venue.orderbook(symbol, fresh=True)
    scenario.venue.place_order(OrderRequest(symbol, Side.BUY, Decimal("0.05"), book.best_ask,
                                            7780))
    scenario.run_for(CHECK_EVERY * 3)

    assert scenario.service.attention.is_open(POSITIONS_KEY)
    text = scenario.service.attention.entry_block("once") or ""
    assert f"{symbol}: exchange +0.06, store +0.01" in text
    scenario.close()


def test_a_store_deleted_while_running_is_noticed_within_one_tick_and_written_back(
        tmp_path: Path) -> None:
    scenario = opened_once(tmp_path)
    state_dir = scenario.settings.state_dir
    trade_id = scenario.trades()[0].trade_id
    shutil.rmtree(state_dir)  # the whole state directory, while the service runs

    scenario.tick()

    text = scenario.service.attention.entry_block("once") or ""
    assert "DECISION NEEDED" in text
    assert "was deleted while the service runs" in text
    assert (state_dir / "runner.sqlite3").exists()
    scenario.run_for(timedelta(seconds=20))  # exits and closes go on: max_hold is 2 h here
    assert [t.trade_id for t in scenario.trades()] == [trade_id]
    assert scenario.service.attention.is_open("store.missing")
    assert any(kind == "concern_raised" and data["key"] == "store.missing"
               and data["blocks_entries"] for kind, data in scenario.events)

    scenario.restart()  # the restored file is the store: same trade, no gap, no concern
    scenario.run_for(timedelta(seconds=5))
    assert [t.trade_id for t in scenario.trades()] == [trade_id]
    assert scenario.service.attention.lines() == ()
    scenario.close()


def test_a_store_file_replaced_while_running_is_kept_aside_and_ours_written_back(
        tmp_path: Path) -> None:
    scenario = opened_once(tmp_path)
    path = scenario.runtime.store.path
    path.unlink()
    path.write_bytes(b"")  # someone "reset" the store
    for companion in ("-wal", "-shm"):
        path.with_name(path.name + companion).unlink(missing_ok=True)

    scenario.tick()

    text = scenario.service.attention.entry_block("once") or ""
    assert "replaced by another file" in text
    assert "kept as" in text
    assert len(list(path.parent.glob("runner.sqlite3.corrupt-*"))) == 1
    scenario.restart()
    assert len(scenario.trades()) == 1
    scenario.close()
