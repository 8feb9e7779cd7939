"""`runner run` on a fresh copy with no .env: it paper-trades, and SIGTERM stops it cleanly.

Issue 4 "Done means": `runner run` with no `.env` on a fresh clone starts paper trading the
enabled strategies. Lessons H1 (a heartbeat in state/), A9 (the store lives in state/,
apart from disposable logs), A4 (a stop never changes trade state: the stages in the store
are the same before the signal and after the exit), A2 (only a signal stops it: exit 0).

A real process on the real clock: the one test here that cannot use simulated time.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.scenarios.helpers_scenarios import REPO
from tests.shipped import copy_shipped

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]

_SCRUBBED = ("COINCALL_", "TRADING_ENVIRONMENT", "RUNNER_", "TELEGRAM_")
WAIT_S = 20.0


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env["PYTHONPATH"] = str(REPO)
    return env


def _stages(store: Path) -> dict[str, str]:
    """Trade stages as the store holds them, read without writing (mode=ro)."""
    if not store.exists():
        return {}
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    try:
        return dict(connection.execute("SELECT trade_id, stage FROM trades"))
    except sqlite3.OperationalError:  # the schema is not there yet
        return {}
    finally:
        connection.close()


def _wait_for(condition, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            pytest.fail(f"runner run exited ({process.returncode}) before {what}")
        time.sleep(0.05)
    pytest.fail(f"no {what} within {WAIT_S} s")


@pytest.fixture
def fresh_copy(tmp_path: Path) -> Path:
    copy_shipped(tmp_path)  # the shipped files, never whatever the user added
    assert not (tmp_path / ".env").exists()
    return tmp_path


def test_runner_run_paper_trades_without_env_and_stops_on_sigterm_leaving_trades_as_they_were(
        fresh_copy: Path):
    store = fresh_copy / "state" / "paper" / "runner.sqlite3"  # one directory per environment
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "run"], cwd=fresh_copy, env=_environment(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        heartbeat = fresh_copy / "state" / "paper" / "heartbeat.json"
        _wait_for(heartbeat.exists, "heartbeat in state/", process)
        # Stop while a trade is OPEN (held ~10 s): the stop must leave it exactly so.
        _wait_for(lambda: "open" in _stages(store).values(), "OPEN trade in the store", process)
        before = _stages(store)
        signalled_at = datetime.now(UTC)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err[-2000:]
    assert _stages(store) == before
    assert json.loads(heartbeat.read_text(encoding="utf-8"))["environment"] == "paper"
    assert list((fresh_copy / "logs").glob("*.sqlite3*")) == []
    assert not (fresh_copy / ".env").exists()
    assert "PRODUCTION" not in err
    assert _transition_times(store)
    assert max(_transition_times(store)) <= signalled_at  # nothing recorded after the signal
    del out


def _transition_times(store: Path) -> list[datetime]:
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT at FROM transitions").fetchall()
    finally:
        connection.close()
    return [datetime.fromisoformat(at.replace("Z", "+00:00")) for (at,) in rows]
