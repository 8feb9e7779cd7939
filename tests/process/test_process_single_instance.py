"""Issue 7 item 3: one service per state directory, with two real `runner run` processes.

The first paper service holds the state directory's lock; a second one on the same
directory exits 2 at once, naming the first one's pid, without touching the store or
the exchange. Once the first has stopped, the lock is free again (the OS released it).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.process.helpers_process import (
    heartbeat_written,
    kill,
    paper_env,
    start_runner,
    stderr_of,
    stop,
    ticking,
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
        began = time.monotonic()
        second = start_runner(tmp_path, env, "second")
        code = second.wait(10)
        took = time.monotonic() - began
        assert code == 2, stderr_of(tmp_path, "second")
        assert f"pid {first.pid}" in stderr_of(tmp_path, "second")
        assert took < 2.5, f"the refusal took {took:.2f} s"  # about 0.4 s on an idle machine
        assert first.poll() is None  # the first one runs on, untouched
        log = (tmp_path / "logs" / "trading.log").read_text(encoding="utf-8")
        assert log.count("runner starting") == 1  # the second never got as far as its log
        print(f"second instance refused in {took:.2f} s")
    finally:
        code = stop(first)
    assert code == 0, stderr_of(tmp_path, "first")


def test_after_the_holder_was_killed_a_new_runner_starts(tmp_path: Path) -> None:
    env = paper_env(tmp_path)
    first = start_runner(tmp_path, env, "first")
    try:
        wait_for("the first heartbeat", heartbeat_written(tmp_path), 30, first)
    finally:
        kill(first)  # SIGKILL: only the OS can release the lock now
    heartbeat = tmp_path / "state" / "heartbeat.json"
    heartbeat.unlink()
    second = start_runner(tmp_path, env, "second")
    try:
        wait_for("the second service's first tick", ticking(tmp_path, second.pid), 30, second)
    finally:
        assert stop(second) == 0, stderr_of(tmp_path, "second")
