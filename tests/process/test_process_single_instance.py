"""Issue 7 item 3: one service per state directory, with two real `runner run` processes.

The first paper service holds the state directory's lock; a second one on the same
directory exits 2 at once, naming the first one's pid, without touching the store or
the exchange. (That the OS frees the lock of a killed service is in
test_process_heartbeat.py.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.process.helpers_process import (
    heartbeat_written,
    paper_env,
    start_runner,
    stderr_of,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


def test_a_second_runner_on_the_same_state_directory_exits_2_naming_the_first(
        tmp_path: Path) -> None:
    env = paper_env(tmp_path)
    first = start_runner(tmp_path, env, "first")
    try:
        wait_for("the first heartbeat", heartbeat_written(tmp_path), 30, first)
        second = start_runner(tmp_path, env, "second")
        code = second.wait(20)  # it refuses at once (0.4-0.7 s idle); it never waits for the lock
        assert code == 2, stderr_of(tmp_path, "second")
        assert f"pid {first.pid}" in stderr_of(tmp_path, "second")
        assert first.poll() is None  # the first one runs on, untouched
        log = (tmp_path / "logs" / "trading.log").read_text(encoding="utf-8")
        assert log.count("runner starting") == 1  # the second never got as far as its log
    finally:
        code = stop(first)
    assert code == 0, stderr_of(tmp_path, "first")
