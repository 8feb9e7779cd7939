"""H1: liveness is the heartbeat the loop writes each tick, judged by its age.

A6: a missing, empty, NUL-filled or half-written heartbeat is a stale verdict, never a
crash; the file is replaced atomically so a reader never sees a mix.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.service.heartbeat import (
    Heartbeat,
    HeartbeatUnreadable,
    check_heartbeat,
    health_verdict,
    heartbeat_path,
    read_heartbeat,
    write_heartbeat,
)
from tests.ops.helpers_ops import FAKE_SECRET

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MAX_AGE = timedelta(seconds=120)


def _beat(at: datetime = NOW, **changes: object) -> Heartbeat:
    fields: dict[str, object] = {"at": at, "tick": 42, "environment": "paper",
                                 "strategies": ("micro_strangle", "rfq_endurance")}
    fields.update(changes)
    return Heartbeat(**fields)  # type: ignore[arg-type]


def test_a_written_heartbeat_reads_back_equal(tmp_path: Path) -> None:
    beat = _beat(last_error="tick 41: exchange timeout")
    path = write_heartbeat(tmp_path, beat)
    assert path == heartbeat_path(tmp_path)
    assert read_heartbeat(tmp_path) == beat
    assert read_heartbeat(tmp_path).pid == os.getpid()


def test_the_heartbeat_file_holds_the_documented_json(tmp_path: Path) -> None:
    write_heartbeat(tmp_path, _beat())
    data = json.loads(heartbeat_path(tmp_path).read_text(encoding="utf-8"))
    assert data == {"pid": os.getpid(), "at": "2026-03-02T10:00:00+00:00", "tick": 42,
                    "environment": "paper", "strategies": ["micro_strangle", "rfq_endurance"],
                    "last_error": None, "problems": [], "state": "running", "launched_at": None,
                    "view": None}


def test_the_heartbeat_carries_the_service_launch_for_runner_plan(tmp_path: Path) -> None:
    """`runner plan` counts a running service's cycles from this (issue 9 item 5)."""
    write_heartbeat(tmp_path, replace(_beat(), launched_at=NOW - timedelta(hours=1)))
    assert read_heartbeat(tmp_path).launched_at == NOW - timedelta(hours=1)


def test_rewriting_replaces_the_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    for tick in range(5):
        write_heartbeat(tmp_path, _beat(NOW + timedelta(seconds=tick), tick=tick))
    assert read_heartbeat(tmp_path).tick == 4
    assert [p.name for p in tmp_path.iterdir()] == ["heartbeat.json"]


def test_a_failed_replace_leaves_the_previous_beat_intact(tmp_path: Path) -> None:
    write_heartbeat(tmp_path, _beat(tick=1))

    def crash(_source: Path, _target: Path) -> None:
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        write_heartbeat(tmp_path, _beat(tick=2), replace=crash)
    assert read_heartbeat(tmp_path).tick == 1


def test_a_reader_holding_the_file_on_windows_only_delays_the_replace(tmp_path: Path) -> None:
    refusals = [PermissionError("sharing violation")] * 2

    def busy_then_free(source: Path, target: Path) -> None:
        if refusals:
            raise refusals.pop()
        os.replace(source, target)

    write_heartbeat(tmp_path, _beat(tick=7), replace=busy_then_free)
    assert read_heartbeat(tmp_path).tick == 7


def test_a_secret_in_the_last_error_is_masked_in_the_file(tmp_path: Path, log_dir: Path
                                                          ) -> None:
    write_heartbeat(tmp_path, _beat(last_error=f"signing failed with {FAKE_SECRET}"))
    assert FAKE_SECRET not in heartbeat_path(tmp_path).read_text(encoding="utf-8")


def test_a_fresh_heartbeat_is_ok() -> None:
    verdict = health_verdict(_beat(), NOW + timedelta(seconds=30), MAX_AGE)
    assert verdict.ok
    assert verdict.text.startswith("ok: heartbeat 30 s old (tick 42")


def test_an_old_heartbeat_is_stale_even_if_the_process_exists() -> None:
    ok, text = health_verdict(_beat(), NOW + timedelta(seconds=121), MAX_AGE)
    assert not ok
    assert text.startswith("stale: heartbeat 121 s old, more than 120 s")


def test_a_heartbeat_exactly_max_age_old_is_still_ok() -> None:
    assert health_verdict(_beat(), NOW + MAX_AGE, MAX_AGE).ok


def test_a_heartbeat_far_in_the_future_is_stale() -> None:
    ok, text = health_verdict(_beat(NOW + timedelta(hours=1)), NOW, MAX_AGE)
    assert not ok
    assert "in the future" in text


def test_the_verdict_mentions_the_last_error() -> None:
    _, text = health_verdict(_beat(last_error="exchange timeout"), NOW, MAX_AGE)
    assert text.endswith("; last error: exchange timeout")


def test_a_missing_heartbeat_is_stale(tmp_path: Path) -> None:
    ok, text = check_heartbeat(tmp_path / "state", NOW, MAX_AGE)
    assert not ok
    assert text.startswith("stale: no heartbeat at")


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00" * 512, b'{"pid": 1, "at": "2026-03-02T10:00', b"[1, 2]",
     b'{"pid": 1, "at": "2026-03-02T10:00:00", "tick": 1, "environment": "paper",'
     b' "strategies": []}',
     b'{"pid": "x", "at": "2026-03-02T10:00:00+00:00", "tick": 1, "environment": "paper",'
     b' "strategies": []}',
     b"\xff\xfe not utf-8"],
    ids=["empty", "nul-filled", "truncated", "not-an-object", "naive-time", "wrong-type",
         "not-utf8"],
)
def test_a_corrupt_heartbeat_is_stale_not_a_crash(tmp_path: Path, content: bytes) -> None:
    heartbeat_path(tmp_path).write_bytes(content)
    with pytest.raises(HeartbeatUnreadable):
        read_heartbeat(tmp_path)
    ok, text = check_heartbeat(tmp_path, NOW, MAX_AGE)
    assert not ok
    assert text.startswith("stale: heartbeat")
    assert "heartbeat.json" in text


def test_no_heartbeat_object_is_stale() -> None:
    assert health_verdict(None, NOW, MAX_AGE) == (False, "stale: no heartbeat")
