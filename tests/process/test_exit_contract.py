"""Issue 7 item 6 at unit level: which failure is which exit code, and the loop's side
jobs never end it. (The real processes are in test_process_exit_codes.py.)"""

from __future__ import annotations

import argparse
import errno
import sqlite3
from pathlib import Path

import pytest
from loguru import logger

from runner.service import exit_codes
from runner.service.exit_codes import ServiceExit, classify
from runner.service.live import run_service
from runner.service.loop_guard import StorageStreak, quietly
from runner.service.settings import load_settings
from runner.service.tick_report import TooManyFailures
from tests.process.helpers_process import write_strategy


def caused(error: Exception, by: Exception) -> Exception:
    try:
        raise error from by
    except Exception as raised:
        return raised


@pytest.mark.parametrize(("error", "code"), [
    (OSError(errno.ENOSPC, "No space left on device"), exit_codes.ENVIRONMENT),
    (PermissionError(errno.EACCES, "Permission denied"), exit_codes.ENVIRONMENT),
    (sqlite3.OperationalError("database or disk is full"), exit_codes.ENVIRONMENT),
    (sqlite3.OperationalError("disk I/O error"), exit_codes.ENVIRONMENT),
    (sqlite3.OperationalError("attempt to write a readonly database"), exit_codes.ENVIRONMENT),
    (sqlite3.IntegrityError("UNIQUE constraint failed: orders.key"), exit_codes.LOOP_FAILED),
    (RuntimeError("a bug"), exit_codes.LOOP_FAILED),
], ids=lambda value: str(value)[:30])
def test_each_failure_maps_to_its_exit_code(error: Exception, code: int) -> None:
    assert classify(error)[0] == code


def test_a_failure_streak_caused_by_the_disk_is_the_environment() -> None:
    streak = caused(TooManyFailures("10 consecutive failed ticks"),
                    sqlite3.OperationalError("database or disk is full"))
    assert classify(streak) == (exit_codes.ENVIRONMENT,
                                "OperationalError: database or disk is full")
    plain = caused(TooManyFailures("10 consecutive failed ticks"), KeyError("x"))
    assert classify(plain)[0] == exit_codes.LOOP_FAILED


def test_ten_ticks_in_a_row_of_store_write_failures_end_the_loop_with_4() -> None:
    streak = StorageStreak(limit=3)
    failing = [("probe", "OperationalError('database or disk is full')")]
    streak.observe(failing)
    streak.observe([("probe", "ValueError('a strategy bug')")])  # not the disk: starts over
    streak.observe(failing)
    streak.observe(failing)
    with pytest.raises(ServiceExit) as leaving:
        streak.observe(failing)
    assert leaving.value.code == exit_codes.ENVIRONMENT
    assert "database or disk is full" in leaving.value.reason


def test_a_strategys_own_errors_never_count_as_the_disk() -> None:
    streak = StorageStreak(limit=2)
    for _ in range(5):
        streak.observe([("probe", "ZeroDivisionError('division by zero')")])
    assert streak.count == 0


def test_a_housekeeping_failure_is_logged_once_until_it_works_again() -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, format="{message}")
    try:
        def fail() -> None:
            raise OSError(errno.EROFS, "Read-only file system")

        for _ in range(3):
            assert quietly("the probe job", fail) is None
        assert quietly("the probe job", lambda: 7) == 7
    finally:
        logger.remove(sink)
    assert sum("the probe job failed" in line for line in lines) == 1
    assert sum("the probe job works again" in line for line in lines) == 1


def test_an_unknown_error_exits_3_with_one_line_on_stderr_and_the_traceback_in_the_log(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"RUNNER_STATE_DIR": str(tmp_path / "state"),
                              "RUNNER_LOG_DIR": str(tmp_path / "logs")})
    # A programming error: the arguments lack `fresh`, which the start-up reads.
    args = argparse.Namespace(files=[write_strategy(tmp_path)], env_file=tmp_path / "no.env",
                              seed=1)
    assert run_service(args, settings, 1.0) == exit_codes.LOOP_FAILED
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert "exit 3" in stderr
    assert "AttributeError" in stderr
    log = (tmp_path / "logs" / "trading.log").read_text(encoding="utf-8")
    assert "Traceback" in log
