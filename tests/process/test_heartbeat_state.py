"""Issue 7 item 5: an honest heartbeat (unit level; the real process is in
test_process_heartbeat.py). A stopped service says so in its last beat, and a "running"
beat is believed only while the service holds its instance lock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runner.cli.operator import service_running
from runner.service.heartbeat import (
    STOPPED,
    Heartbeat,
    check_heartbeat,
    health_verdict,
    heartbeat_path,
    read_heartbeat,
    write_heartbeat,
)
from runner.service.instance_lock import InstanceLock

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def beat(**changes: object) -> Heartbeat:
    fields: dict[str, object] = {"at": NOW - timedelta(seconds=5), "tick": 7,
                                 "environment": "paper", "strategies": ("probe",)}
    fields.update(changes)
    return Heartbeat(**fields)  # type: ignore[arg-type]


def test_a_stopped_beat_is_not_alive_however_fresh() -> None:
    verdict = health_verdict(beat(state=STOPPED), NOW)
    assert not verdict.ok
    assert verdict.text.startswith("stopped: the service stopped 5 s ago")


def test_the_state_is_written_and_read_back(tmp_path: Path) -> None:
    write_heartbeat(tmp_path, beat(state=STOPPED, last_error="3 consecutive failed ticks"))
    assert json.loads(heartbeat_path(tmp_path).read_text())["state"] == "stopped"
    assert read_heartbeat(tmp_path).state == STOPPED


def test_a_beat_of_an_older_runner_without_state_reads_as_running(tmp_path: Path) -> None:
    data = beat().to_json()
    del data["state"]
    heartbeat_path(tmp_path).write_text(json.dumps(data), encoding="utf-8")
    assert read_heartbeat(tmp_path).state == "running"
    assert check_heartbeat(tmp_path, NOW).ok  # no lock file either: judged by age


def test_a_running_beat_whose_lock_is_free_is_stale(tmp_path: Path) -> None:
    lock = InstanceLock.for_state_dir(tmp_path)  # held, then let go as by a dead process
    lock.acquire()
    lock.release()
    write_heartbeat(tmp_path, beat())
    verdict = check_heartbeat(tmp_path, NOW)
    assert not verdict.ok
    assert "the service is not running" in verdict.text


def test_a_running_beat_is_believed_while_the_lock_is_held(tmp_path: Path) -> None:
    write_heartbeat(tmp_path, beat())
    with InstanceLock.for_state_dir(tmp_path):
        assert check_heartbeat(tmp_path, NOW).ok


def test_trades_commands_refuse_while_the_lock_is_held_even_without_a_fresh_beat(
        tmp_path: Path) -> None:
    write_heartbeat(tmp_path, beat(at=NOW - timedelta(minutes=30)))  # a hung service
    with InstanceLock.for_state_dir(tmp_path):
        refusal = service_running(tmp_path, NOW)
    assert refusal is not None
    assert "holds its lock" in refusal
    assert service_running(tmp_path, NOW) is None  # released: commands may act


def test_trades_commands_act_at_once_after_a_clean_stop(tmp_path: Path) -> None:
    write_heartbeat(tmp_path, beat(state=STOPPED))
    assert service_running(tmp_path, NOW) is None
