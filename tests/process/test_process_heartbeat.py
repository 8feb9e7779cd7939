"""Issue 7 item 5, with the real process: after a clean stop (SIGINT) `runner health` says
stopped (exit 1) and `runner trades list` works at once; after a kill -9 the beat left
behind is not believed, because nobody holds the service's lock any more."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runner.service.instance_lock import InstanceLock
from tests.process.helpers_process import (
    heartbeat,
    kill,
    paper_env,
    run_cli,
    start_runner,
    stderr_of,
    stop,
    ticking,
    wait_for,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


def test_after_sigint_health_says_stopped_and_trades_list_works_at_once(tmp_path: Path) -> None:
    env = paper_env(tmp_path)
    service = start_runner(tmp_path, env, "service")
    try:
        wait_for("a tick", ticking(tmp_path, service.pid), 30, service)
        running = run_cli(tmp_path, env, "health", "--state-dir", str(tmp_path / "state"))
        assert running.returncode == 0, running.stdout
        refused = run_cli(tmp_path, env, "trades", "list")
        assert refused.returncode != 0
        assert "the service is running" in refused.stderr
    finally:
        code = stop(service)
    assert code == 0, stderr_of(tmp_path, "service")
    assert heartbeat(tmp_path)["state"] == "stopped"
    health = run_cli(tmp_path, env, "health", "--state-dir", str(tmp_path / "state"))
    assert health.returncode == 1
    assert health.stdout.startswith("stopped: the service stopped"), health.stdout
    listed = run_cli(tmp_path, env, "trades", "list")
    assert listed.returncode == 0, listed.stderr
    assert "active trades" in listed.stdout


def test_after_kill_9_the_beat_left_behind_is_not_believed(tmp_path: Path) -> None:
    env = paper_env(tmp_path)
    service = start_runner(tmp_path, env, "service")
    try:
        wait_for("a tick", ticking(tmp_path, service.pid), 30, service)
    finally:
        kill(service)
    assert heartbeat(tmp_path)["state"] == "running"  # nobody could write "stopped"
    health = run_cli(tmp_path, env, "health", "--state-dir", str(tmp_path / "state"))
    assert health.returncode == 1
    assert "the service is not running" in health.stdout, health.stdout
    listed = run_cli(tmp_path, env, "trades", "list")
    assert listed.returncode == 0, listed.stderr
    InstanceLock.for_state_dir(tmp_path / "state" / "paper").acquire(patience=0)  # the OS freed it
