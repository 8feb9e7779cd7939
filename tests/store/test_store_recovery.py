"""A damaged store is quarantined, never a crash loop; snapshots are never half-written.

Lessons A6 (NUL-filled state files kept the old bot down for 17 h) and A7.
"""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from runner.store import StoreTooNew, open_store, write_json_atomically, write_open_trades
from tests.store.helpers_store import make_trade


def populated_store(tmp_path, clock):
    path = tmp_path / "state" / "runner.sqlite3"
    opening = open_store(path, clock)
    for number in range(40):
        opening.store.save_trade(make_trade(f"t{number}"))
    opening.store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    opening.store.close()
    return path


def truncate(path):
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size // 2)


def nul_fill(path):
    size = path.stat().st_size
    path.write_bytes(b"\0" * size)


def garbage(path):
    path.write_bytes(b"this is not a database, it is a grocery list\n" * 200)


@pytest.mark.parametrize("damage", [truncate, nul_fill, garbage],
                         ids=["truncated", "nul-filled", "garbage"])
def test_a_damaged_store_is_quarantined_and_a_fresh_one_starts(tmp_path, clock,
                                                               damage) -> None:
    """A6: the runner starts, reports, keeps the damaged file and begins afresh."""
    path = populated_store(tmp_path, clock)
    damage(path)

    opening = open_store(path, clock)
    assert opening.needs_alert
    assert opening.quarantined_to is not None
    assert opening.quarantined_to.exists()
    assert opening.quarantined_to.name.startswith("runner.sqlite3.corrupt-20260302T100000")
    assert opening.store.load_active_trades() == []
    assert any("ALERT" in line for line in opening.lines())
    opening.store.save_trade(make_trade("after"))
    assert opening.store.load_trade("after") is not None


def test_recovery_is_idempotent_and_the_next_start_is_clean(tmp_path, clock) -> None:
    """A7: no marker files; after a quarantine the following starts are ordinary."""
    path = populated_store(tmp_path, clock)
    nul_fill(path)
    first = open_store(path, clock)
    first.store.close()
    results = []
    for _ in range(100):
        opening = open_store(path, clock)
        results.append((opening.needs_alert, opening.created))
        opening.store.close()
    assert set(results) == {(False, False)}
    assert len(list(path.parent.glob("*.corrupt-*"))) == 1


def test_an_intact_store_opens_with_its_memory(tmp_path, clock) -> None:
    path = populated_store(tmp_path, clock)
    opening = open_store(path, clock)
    assert not opening.needs_alert
    assert len(opening.store.load_active_trades()) == 40
    assert opening.lines() == [f"store: opened the store at {path}"]


def test_a_store_written_by_a_newer_runner_is_refused_not_quarantined(tmp_path,
                                                                      clock) -> None:
    path = populated_store(tmp_path, clock)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreTooNew, match="upgrade the runner"):
        open_store(path, clock)
    assert list(path.parent.glob("*.corrupt-*")) == []


def test_a_snapshot_write_replaces_the_file_whole(tmp_path, clock) -> None:
    path = tmp_path / "state" / "trade_state.json"
    write_open_trades(path, [make_trade("a")], clock.now())
    write_open_trades(path, [make_trade("a"), make_trade("b")], clock.now())
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [t["trade_id"] for t in data["trades"]] == ["a", "b"]
    assert [p.name for p in path.parent.iterdir()] == ["trade_state.json"]


def test_a_crash_between_write_and_rename_leaves_the_old_snapshot_intact(tmp_path,
                                                                         clock) -> None:
    """A6: the previous snapshot survives; the stray temp file is cleared by the next write."""
    path = tmp_path / "state" / "trade_state.json"
    write_json_atomically(path, {"version": 1})

    class Killed(BaseException):
        pass

    def crash_before_rename(source, target):
        # what a power cut would leave: the temp file fully written, never renamed
        os.link(source, str(source) + ".kept")
        raise Killed

    with pytest.raises(Killed):
        write_json_atomically(path, {"version": 2}, replace=crash_before_rename)
    assert json.loads(path.read_text(encoding="utf-8")) == {"version": 1}
    strays = [p for p in path.parent.iterdir() if p.name != "trade_state.json"]
    assert strays, "the simulated crash left its temp file behind"
    for stray in strays:
        stray.rename(path.parent / f".tmp-trade_state.json.{stray.name[-8:]}")

    write_json_atomically(path, {"version": 3})
    assert json.loads(path.read_text(encoding="utf-8")) == {"version": 3}
    assert [p.name for p in path.parent.iterdir()] == ["trade_state.json"]


def test_an_older_store_is_migrated_forward_keeping_its_memory(tmp_path, clock) -> None:
    """Schema versions move forward only, one transaction per step."""
    from runner.store.schema import CURRENT_VERSION

    path = populated_store(tmp_path, clock)
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE executions")
        connection.execute("PRAGMA user_version = 1")
    opening = open_store(path, clock)
    assert not opening.needs_alert
    version = opening.store.connection.execute("PRAGMA user_version").fetchone()[0]
    assert version == CURRENT_VERSION
    assert len(opening.store.load_active_trades()) == 40
    assert opening.store.load_executions() == {}


def empty(path):
    path.write_bytes(b"")


def test_a_zero_byte_store_is_quarantined_with_an_alert_not_opened_as_new(tmp_path,
                                                                          clock) -> None:
    """Issue 7: SQLite opens a 0-byte file as an empty database; the runner must not."""
    path = populated_store(tmp_path, clock)
    empty(path)

    opening = open_store(path, clock)

    assert opening.needs_alert
    assert opening.starts_blank
    assert "0 bytes" in (opening.problem or "")
    assert opening.quarantined_to is not None
    assert opening.quarantined_to.stat().st_size == 0
    assert any("ALERT" in line for line in opening.lines())
    opening.store.close()
    again = open_store(path, clock)
    assert not again.needs_alert
    assert not again.starts_blank
