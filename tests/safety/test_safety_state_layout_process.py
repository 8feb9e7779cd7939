"""`runner run` moves a store from before per-environment directories, or refuses clearly.

Issue 7 item 4, as the real process: a store left directly in the state root by an older
runner is moved into the directory of the environment it traded (here the heartbeat
beside it says testnet) at the next start, whatever environment starts; one whose
environment cannot be told stops the start with exit 2, naming the file and the fix.
Nothing is deleted either way.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runner.domain.clock import ManualClock
from runner.store import open_store
from tests.safety.test_safety_store_damage_process import (
    STRATEGY,
    WAIT_S,
    environment,
    stop,
    wait_for,
)
from tests.scenarios.helpers_scenarios import MONDAY_10

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


def legacy_root(tmp_path: Path, heartbeat_environment: str | None) -> Path:
    root = tmp_path / "state"
    open_store(root / "runner.sqlite3", ManualClock(MONDAY_10)).store.close()
    if heartbeat_environment is not None:
        (root / "heartbeat.json").write_text(json.dumps(
            {"at": MONDAY_10.isoformat(), "tick": 3, "environment": heartbeat_environment}),
            encoding="utf-8")
    (tmp_path / "once.yaml").write_text(STRATEGY, encoding="utf-8")
    return root


def first_tick(heartbeat: Path) -> bool:
    """The loop ticked (its signal handlers are installed by then)."""
    try:
        return int(json.loads(heartbeat.read_text(encoding="utf-8"))["tick"]) >= 1
    except (OSError, ValueError, KeyError):
        return False


def run_paper(tmp_path: Path) -> subprocess.Popen[str]:
    with (tmp_path / "run.out").open("w", encoding="utf-8") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "runner", "run", "once.yaml", "--tick", "1s", "--seed", "7",
             "--env-file", "no.env"], cwd=tmp_path, env=environment(tmp_path), stdout=out,
            stderr=subprocess.STDOUT, text=True)


def test_a_legacy_testnet_store_is_moved_into_state_testnet_and_paper_starts_its_own(
        tmp_path: Path) -> None:
    root = legacy_root(tmp_path, "testnet")
    process = run_paper(tmp_path)
    try:
        wait_for("a paper tick", lambda: first_tick(root / "paper" / "heartbeat.json"),
                 process)
    finally:
        assert stop(process) == 0
    assert (root / "testnet" / "runner.sqlite3").is_file()
    assert (root / "testnet" / "heartbeat.json").is_file()
    assert not (root / "runner.sqlite3").exists()
    assert (root / "paper" / "runner.sqlite3").is_file()
    assert "state: moved runner.sqlite3" in (tmp_path / "run.out").read_text("utf-8")


def test_a_legacy_store_of_unknown_environment_stops_the_start_with_exit_2(
        tmp_path: Path) -> None:
    root = legacy_root(tmp_path, None)
    process = run_paper(tmp_path)
    try:
        code = process.wait(WAIT_S)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
    text = (tmp_path / "run.out").read_text("utf-8")
    assert code == 2, text
    assert str(root / "runner.sqlite3") in text
    assert "<environment>/runner.sqlite3" in text
    assert (root / "runner.sqlite3").is_file()  # left where it was
    assert not (root / "paper" / "runner.sqlite3").exists()
