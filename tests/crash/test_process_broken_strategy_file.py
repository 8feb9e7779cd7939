"""Issue 7 item 2, the real process: a trade whose strategy file broke is still closed.

`runner run` (paper, fixed seed) opens a trade and is stopped with SIGTERM while it is
OPEN. The strategy file is then edited into an invalid file and `runner run` started
again. Before strategy copies, the file was dropped, the error went to stderr only, and
the process exited 2 ("no enabled, valid strategy to run"): the open trade was never
closed. Now the process starts to manage the trade from the copy stored when it opened,
its `max_hold` exit fires, the invalid file is in logs/ in `runner validate`'s words, and
`runner health` reports degraded. With nothing to run and nothing held it still exits 2.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.crash.test_crash_sigkill_process import query, wait_for
from tests.process.helpers_process import paper_env

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")]

STRATEGY = """\
version: 1
name: keeper
description: one small strangle, held 15 s
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.01
  expiry: {next: true}
  call: {delta: 0.15}
  put: {delta: -0.15}
timing:
  check_interval: 1s
  max_concurrent_trades: 1
  max_trades_per_day: 1
execution:
  open: {mode: limit, fill_timeout: 5s, requote_rounds: 20, aggressive_buffer_pct: 2}
exits:
  - max_hold: 15s
"""
BROKEN = "version: 1\nname: keeper\nlegs: [oops\n"


def runner(tmp_path: Path, env: dict[str, str], name: str,
           *args: str) -> subprocess.Popen[str]:
    with (tmp_path / f"{name}.out").open("w", encoding="utf-8") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "runner", *args, "--env-file", str(tmp_path / "no.env")],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def run_keeper(tmp_path: Path, env: dict[str, str], name: str) -> subprocess.Popen[str]:
    return runner(tmp_path, env, name, "run", "keeper.yaml", "--seed", "3", "--tick", "1s")


def stop(process: subprocess.Popen[str], output: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(30) == 0, output.read_text(encoding="utf-8")
    finally:
        if process.poll() is None:
            process.kill()


def test_a_trade_whose_file_was_broken_is_closed_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "keeper.yaml"
    path.write_text(STRATEGY, encoding="utf-8")
    store = tmp_path / "state" / "paper" / "runner.sqlite3"  # one per environment
    env = paper_env(tmp_path)
    first = run_keeper(tmp_path, env, "first")
    try:
        wait_for("the trade open", lambda: query(store, "SELECT stage FROM trades")
                 == [("open",)], 60, first)
    finally:
        stop(first, tmp_path / "first.out")

    path.write_text(BROKEN, encoding="utf-8")
    second = run_keeper(tmp_path, env, "second")
    try:
        wait_for("the trade closed by its stored rule", lambda: query(
            store, "SELECT stage, exit_reason FROM trades") == [("closed", "max_hold")], 60,
            second)
        health = subprocess.run(
            [sys.executable, "-m", "runner", "health"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
    finally:
        stop(second, tmp_path / "second.out")
    log = (tmp_path / "logs" / "trading.log").read_text(encoding="utf-8")
    assert "keeper.yaml:4:1: error: (yaml syntax)" in log  # runner validate's words
    assert "is managed from its stored copy" in log
    assert health.stdout.startswith("degraded: invalid strategy file, not run: keeper.yaml:4"), (
        health.stdout + health.stderr)
    assert query(store, "SELECT COUNT(*) FROM trades") == [(1,)]


def test_with_nothing_to_run_and_nothing_held_the_run_exits_2(tmp_path: Path) -> None:
    (tmp_path / "keeper.yaml").write_text(BROKEN, encoding="utf-8")
    process = run_keeper(tmp_path, paper_env(tmp_path), "only")
    assert process.wait(30) == 2
    out = (tmp_path / "only.out").read_text(encoding="utf-8")
    assert "keeper.yaml:4:1: error: (yaml syntax)" in out
    assert "no enabled, valid strategy to run" in out
