"""`runner status`: the store read through a read-only connection, as text and JSON."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.cli.status_report import read_status
from runner.store.store import default_store_path
from tests.ops_cli.helpers_ops_cli import AT, NOW, STRATEGIES, populate_store, run_cli


def _files(directory: Path) -> set[str]:
    return {path.name for path in directory.rglob("*")}


def test_status_on_an_empty_state_dir_exits_1_with_a_clear_message_and_creates_nothing(
        capsys, state_dir) -> None:
    result = run_cli(capsys, "status", "--at", AT)
    assert result.code == 1
    assert "no store at" in result.err
    assert "state directory" in result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    assert _files(state_dir) == set()


def test_status_on_a_missing_state_dir_never_creates_it(capsys, tmp_path) -> None:
    missing = tmp_path / "nowhere"
    result = run_cli(capsys, "status", "--state-dir", str(missing))
    assert result.code == 1
    assert not missing.exists()


def test_a_file_that_is_not_a_store_exits_1_without_a_traceback(capsys, state_dir) -> None:
    default_store_path(state_dir).write_bytes(b"\x00" * 4096)
    result = run_cli(capsys, "status", "--at", AT)
    assert result.code == 1
    assert "cannot read the store" in result.err
    assert "Traceback" not in result.err


def test_status_prints_strategies_trades_pnl_counts_and_live_orders(capsys, state_dir) -> None:
    """E6, I3: closed trades show gross and net of fees; trades and attempts are separate."""
    populate_store(state_dir)
    result = run_cli(capsys, "status", "--at", AT)
    assert result.code == 0, result.err
    out = result.out
    assert "micro_strangle (first" in out
    assert "rfq_endurance (first" in out
    assert "micro_strangle: 1 trades, 3 attempts" in out
    assert "rfq_endurance: 0 trades, 1 attempts" in out
    assert "active trades (2)" in out
    assert "micro_strangle-3 micro_strangle OPENING" in out
    assert "filled 0.01 at 181, open 0.01" in out
    assert "rfq_endurance-1 rfq_endurance PENDING_OPEN" in out
    assert "micro_strangle-1 micro_strangle closed" in out
    assert "reason max_hold" in out
    # (200 - 180) x 0.01 + (160 - 190) x 0.01 = -0.10 gross; fees 4 x 0.26 = 1.04
    assert "gross -0.10 USD, fees 1.04, net -1.14 USD" in out
    assert "micro_strangle-2 micro_strangle failed" in out
    assert "live orders in the ledger (2)" in out
    assert "accepted micro_strangle-3 leg 1 open/entry: buy 0.01" in out
    assert "intent micro_strangle-3 leg 0 open/entry" in out


def test_status_json_matches_the_store(capsys, state_dir) -> None:
    trades = populate_store(state_dir)
    result = run_cli(capsys, "status", "--at", AT, "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert [s["name"] for s in report["strategies"]] == ["micro_strangle", "rfq_endurance"]
    active = {t["trade_id"]: t for t in report["active_trades"]}
    assert set(active) == {"micro_strangle-3", "rfq_endurance-1"}
    opening = trades["micro_strangle-3"]
    assert active["micro_strangle-3"]["stage"] == "opening"
    assert [(leg["symbol"], leg["side"], leg["qty"], leg["filled_qty"], leg["open_qty"])
            for leg in active["micro_strangle-3"]["legs"]] == [
        (leg.symbol, leg.side.value, str(leg.qty), str(leg.filled_qty), str(leg.open_qty))
        for leg in opening.legs]
    assert active["micro_strangle-3"]["age_seconds"] >= 0
    closed = {t["trade_id"]: t for t in report["recent_closed"]}
    assert set(closed) == {"micro_strangle-1", "micro_strangle-2"}
    done = trades["micro_strangle-1"]
    assert closed["micro_strangle-1"]["pnl_gross_usd"] == str(done.realized_pnl())
    assert closed["micro_strangle-1"]["pnl_net_usd"] == str(done.realized_pnl() - done.fees())
    assert closed["micro_strangle-1"]["exit_reason"] == "max_hold"
    assert closed["micro_strangle-2"]["stage"] == "failed"
    today = {c["strategy"]: (c["trades"], c["attempts"]) for c in report["today"]}
    assert today == {"micro_strangle": (1, 3), "rfq_endurance": (0, 1)}
    orders = {o["leg"]: o for o in report["live_orders"]}
    assert orders[0]["status"] == "intent"
    assert orders[1]["status"] == "accepted"
    assert orders[1]["order_id"] == 4242


def test_recent_limits_the_closed_trades_newest_first(capsys, state_dir) -> None:
    populate_store(state_dir)
    report = run_cli(capsys, "status", "--at", AT, "--format", "json", "--recent", "1").json()
    assert [t["trade_id"] for t in report["recent_closed"]] == ["micro_strangle-2"]


def test_status_never_writes_to_the_store(capsys, state_dir) -> None:
    populate_store(state_dir)
    store_file = default_store_path(state_dir)
    before = store_file.read_bytes()
    for _ in range(3):
        assert run_cli(capsys, "status", "--at", AT).code == 0
    assert store_file.read_bytes() == before


def test_heartbeat_age_tick_and_pid_are_shown(capsys, state_dir) -> None:
    populate_store(state_dir)
    at = NOW - timedelta(seconds=30)
    (state_dir / "heartbeat.json").write_text(json.dumps(
        {"at": at.isoformat(), "tick": 1234, "pid": 4321}), encoding="utf-8")
    report = run_cli(capsys, "status", "--at", AT, "--format", "json").json()
    beat = report["heartbeat"]
    assert beat["tick"] == 1234
    assert beat["pid"] == 4321
    assert beat["age_seconds"] == 30.0
    text = run_cli(capsys, "status", "--at", AT).out
    assert "heartbeat: 0:00:3" in text
    assert "(tick 1234, pid 4321" in text


@pytest.mark.parametrize("content", [b"", b"\x00\x00\x00", b'{"tick": 1}', b'{"at": "soon"}'])
def test_an_unreadable_heartbeat_is_reported_not_raised(capsys, state_dir, content) -> None:
    """A6: a torn or NUL-filled file is a finding, never a crash."""
    populate_store(state_dir)
    (state_dir / "heartbeat.json").write_bytes(content)
    result = run_cli(capsys, "status", "--at", AT)
    assert result.code == 0
    assert "heartbeat unreadable" in result.out


def test_a_missing_heartbeat_says_the_service_is_not_running(capsys, state_dir) -> None:
    populate_store(state_dir)
    assert "no heartbeat file" in run_cli(capsys, "status", "--at", AT).out


def test_given_strategy_files_status_shows_the_next_entry_window(capsys, state_dir) -> None:
    """Cycles count from the last start the store recorded; daily windows from the date."""
    populate_store(state_dir)
    files = [str(STRATEGIES / name) for name in
             ("micro_strangle.yaml", "rfq_endurance.yaml", "profiles.yaml")]
    report = run_cli(capsys, "status", "--at", AT, "--format", "json",
                     "--strategies", *files).json()
    windows = {s["strategy"]: s for s in report["schedules"]}
    assert windows["micro_strangle"]["schedule"] is None
    rfq = windows["rfq_endurance"]
    launch = datetime.fromisoformat(rfq["launch"])
    assert rfq["schedule"] == "cycles"
    assert rfq["launch"] == report["strategies"][1]["last_seen"]
    assert rfq["next"] == "every cycle of this run has passed"  # launched 2 h before NOW
    late = run_cli(capsys, "status", "--at", (launch + timedelta(minutes=20)).isoformat(),
                   "--format", "json", "--strategies", *files).json()
    cycle = {s["strategy"]: s for s in late["schedules"]}["rfq_endurance"]
    assert cycle["cycle"] == 1
    assert cycle["open_now"] is True
    assert cycle["open_start"] == (launch + timedelta(minutes=16)).isoformat()
    text = run_cli(capsys, "status", "--at", AT, "--strategies", *files).out
    assert "entry windows" in text
    assert "micro_strangle: no schedule" in text


def test_a_daily_schedule_shows_the_window_that_is_open_or_next(state_dir) -> None:
    populate_store(state_dir)
    from runner.strategy import load_strategies

    example = STRATEGIES / "examples" / "reverse_iron_condor_rfq.yaml"
    specs = load_strategies([example, STRATEGIES / "profiles.yaml"]).specs
    now = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)
    (window,) = read_status(state_dir, now, specs=specs)["schedules"]
    assert window["open_now"] is True
    assert window["open_end"] == "2026-03-02T14:00:00+00:00"
    later = read_status(state_dir, now + timedelta(hours=1), specs=specs)["schedules"][0]
    assert later["open_now"] is False
    assert later["open_start"] == "2026-03-03T13:00:00+00:00"


def test_an_invalid_strategy_file_is_skipped_with_a_message(capsys, state_dir,
                                                           tmp_path) -> None:
    populate_store(state_dir)
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nname: [\n", encoding="utf-8")
    result = run_cli(capsys, "status", "--at", AT, "--strategies", str(broken))
    assert result.code == 0
    assert "is not valid" in result.err


def test_status_reads_while_the_service_holds_the_store_open(capsys, state_dir) -> None:
    """WAL: the writer keeps its connection; a reader in another connection sees commits."""
    from runner.domain.clock import ManualClock
    from runner.store.store import Store

    populate_store(state_dir)
    writer = Store.open(default_store_path(state_dir), ManualClock(NOW))
    try:
        writer.note_strategy("late_comer")
        report = run_cli(capsys, "status", "--at", AT, "--format", "json").json()
        assert "late_comer" in [s["name"] for s in report["strategies"]]
    finally:
        writer.close()
    assert os.path.exists(default_store_path(state_dir))
