"""`runner run`'s view of its strategy files: valid ones run, invalid ones are told (issue 7)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg
from runner.service.alerts import LogAlerter
from runner.service.attention import Attention
from runner.service.strategy_files import load_for_run, nothing_to_run, report_invalid_files
from runner.store.store import Store
from tests.scenarios.helpers_scenarios import Pager

REPO = Path(__file__).resolve().parents[2]
MICRO = REPO / "strategies.d" / "micro_strangle.yaml"
AT = datetime(2026, 3, 2, 10, tzinfo=UTC)


def broken_file(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nname: broken\nlegs: [oops\n", encoding="utf-8")
    return path


def test_an_invalid_file_is_one_concern_in_validate_words_that_blocks_no_entry(
        tmp_path: Path, capsys) -> None:
    broken = broken_file(tmp_path)
    loaded = load_for_run([broken, MICRO])
    assert [spec.name for spec in loaded.specs] == ["micro_strangle"]
    attention, pager = Attention(), Pager()
    report_invalid_files(loaded, attention, LogAlerter(ManualClock(AT), sinks=(pager,)))
    (concern,) = attention.concerns()
    assert concern.key == f"strategy_file.{broken}"
    assert f"{broken}:4:1: error: (yaml syntax)" in concern.text
    assert not concern.blocks_entries
    assert attention.entry_block("micro_strangle") is None
    assert pager.keys() == [f"strategy_file.{broken}"]
    assert f"{broken}:4:1: error: (yaml syntax)" in capsys.readouterr().err


def test_with_no_valid_strategy_the_run_starts_only_to_manage_trades_in_flight(
        tmp_path: Path) -> None:
    loaded = load_for_run([broken_file(tmp_path)])
    store_path = tmp_path / "state" / "runner.sqlite3"
    assert nothing_to_run(loaded, store_path)
    assert not store_path.exists()  # looking created nothing
    store = Store.open(store_path, ManualClock(AT))
    leg = TradeLeg(0, "BTCUSD-3MAR26-95000-C", Side.BUY, Decimal("0.01"))
    store.save_trade(Trade.create("t1", "broken", (leg,), AT))
    store.close()
    assert not nothing_to_run(loaded, store_path)
