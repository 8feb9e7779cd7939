"""Issue 7, first row, as the real process: a damaged store and a restart never open twice.

`runner run` (paper, fixed seed, real clock) opens one strangle of a strategy allowed one
trade a day and is stopped with SIGTERM (the paper venue keeps the positions). The store
is then truncated to 0 bytes, and the service started again. Before issue 7 it started
with an empty store, logged the positions at INFO as "not opened by this runner" and
opened a second strangle one second later. Now: nothing opens, DECISION NEEDED is logged
(CRITICAL), the damaged file is quarantined, and `runner health` says degraded.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.sim.persistence import PAPER_VENUE_FILE_NAME
from tests.process.helpers_process import paper_env

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

STRATEGY = """\
version: 1
name: once
description: one small strangle a day, held for an hour
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.01
  expiry: {dte: 1}
  call: {delta: 0.15}
  put: {delta: -0.15}
timing:
  check_interval: 1s
  cooldown: 1s
  max_concurrent_trades: 1
  max_trades_per_day: 1
  max_attempts_per_day: 1
execution:
  open: {mode: limit, fill_timeout: 5s, requote_rounds: 20, aggressive_buffer_pct: 2}
  close: {mode: limit, fill_timeout: 5s, requote_rounds: 20, aggressive_buffer_pct: 2}
exits:
  - max_hold: 1h
"""
WAIT_S = 30.0
def environment(tmp_path: Path) -> dict[str, str]:
    """A paper service whose state and logs live in tmp_path (the process tests' builder)."""
    return paper_env(tmp_path)


def start(tmp_path: Path, name: str) -> subprocess.Popen[str]:
    with (tmp_path / f"{name}.out").open("w", encoding="utf-8") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "runner", "run", "once.yaml", "--tick", "1s", "--seed", "7",
             "--env-file", "no.env"],
            cwd=tmp_path, env=environment(tmp_path), stdout=out, stderr=subprocess.STDOUT,
            text=True)


def stages(store: Path) -> list[str]:
    if not store.exists():
        return []
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as reader:
            return [row[0] for row in reader.execute("SELECT stage FROM trades")]
    except sqlite3.OperationalError:
        return []


def wait_for(what: str, check: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return
        assert process.poll() is None, f"runner run exited ({process.returncode}) before {what}"
        time.sleep(0.1)
    pytest.fail(f"no {what} within {WAIT_S} s")


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def store_path(tmp_path: Path) -> Path:
    venue = next((tmp_path / "state").rglob(PAPER_VENUE_FILE_NAME))
    return venue.with_name("runner.sqlite3")


def test_a_zero_byte_store_and_a_restart_open_nothing_and_runner_health_is_degraded(
        tmp_path: Path) -> None:
    (tmp_path / "once.yaml").write_text(STRATEGY, encoding="utf-8")
    first = start(tmp_path, "first")
    try:
        wait_for("an OPEN trade", lambda: (tmp_path / "state").exists() and any(
            stages(p) == ["open"] for p in (tmp_path / "state").rglob("runner.sqlite3")), first)
    finally:
        assert stop(first) == 0
    store = store_path(tmp_path)
    store.write_bytes(b"")
    for companion in ("-wal", "-shm"):
        store.with_name(store.name + companion).unlink(missing_ok=True)

    second = start(tmp_path, "second")
    try:
        log = tmp_path / "second.out"
        wait_for("DECISION NEEDED", lambda: "DECISION NEEDED" in log.read_text("utf-8"), second)
        time.sleep(3)  # three more ticks: before issue 7 the second strangle came after one
        assert stages(store) == []
        health = subprocess.run(
            [sys.executable, "-m", "runner", "health", "--state-dir", str(tmp_path / "state")],
            cwd=tmp_path, env=environment(tmp_path), capture_output=True, text=True,
            timeout=WAIT_S, check=False)
    finally:
        assert stop(second) == 0
    text = log.read_text("utf-8")
    assert "trade created" not in text
    assert any("CRITICAL" in line and "DECISION NEEDED" in line for line in text.splitlines())
    assert "the file is empty (0 bytes)" in text
    assert list(store.parent.glob("runner.sqlite3.corrupt-*"))
    assert health.returncode == 0, health.stderr
    assert health.stdout.startswith("degraded")
    assert "DECISION NEEDED" in health.stdout
