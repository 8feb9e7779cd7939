"""Issue 9 item 1, done means: the real `runner run` (paper, seeded) steered by real
`runner pause|resume|close|flatten` processes, each taking effect within a few ticks.

The strategy enters at once and holds for an hour, with room for far more trades than the
test can open (so a resume always has room for a new one, however late a loaded machine
applies the pause), so without control the trades only ever accumulate: every change seen in
the store is the operator's doing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.cli.app import EXIT_CLOSED_PIPE
from tests.ops_cli.helpers_ops_cli import populate_store
from tests.process.helpers_process import (
    STRATEGY,
    kill,
    paper_env,
    run_cli,
    start_runner,
    stderr_of,
    stop,
    ticking,
    wait_for,
    write_strategy,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

MANY = (STRATEGY.replace("max_concurrent_trades: 1", "max_concurrent_trades: 100")
        .replace("max_trades_per_day: 1", "max_trades_per_day: 100")
        .replace("max_attempts_per_day: 1", "max_attempts_per_day: 100"))
EFFECT_SECONDS = 90.0  # one tick idle; a close works limit orders over several ticks, and a
# loaded machine (CI on 2 cores, helpers alongside) slows each: waits end as soon as met


def trades(tmp_path: Path) -> dict[str, str]:
    """trade id -> stage, read-only ({} while there is no store)."""
    store = tmp_path / "state" / "paper" / "runner.sqlite3"
    if not store.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as reader:
            return dict(reader.execute("SELECT trade_id, stage FROM trades"))
    except sqlite3.OperationalError:
        return {}


def in_stage(tmp_path: Path, stage: str) -> list[str]:
    return sorted(t for t, s in trades(tmp_path).items() if s == stage)


def control(tmp_path: Path, env: dict[str, str], *args: str) -> str:
    """A control command that must succeed, waiting for the service to apply it."""
    done = run_cli(tmp_path, env, *args, "--wait", str(EFFECT_SECONDS))
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "the service is running (lock held)" in done.stdout, done.stdout
    assert " applied: " in done.stdout, done.stdout
    return done.stdout


def test_pause_resume_close_and_flatten_steer_the_running_service(tmp_path: Path) -> None:
    env = paper_env(tmp_path)
    runner = start_runner(tmp_path, env, "run", "--seed", "5",
                          strategy=write_strategy(tmp_path, MANY))
    try:
        wait_for("the first tick", ticking(tmp_path, runner.pid), 30, runner)
        wait_for("an open trade", lambda: bool(in_stage(tmp_path, "open")), 20, runner)

        control(tmp_path, env, "pause", "process_probe")
        count = len(trades(tmp_path))
        time.sleep(3)  # three ticks in which an unpaused strategy would open again
        assert len(trades(tmp_path)) == count
        status = run_cli(tmp_path, env, "status", "--format", "json")
        assert [p["strategy"] for p in json.loads(status.stdout)["control"]["paused"]] == [
            "process_probe"]
        health = run_cli(tmp_path, env, "health")
        assert "degraded" in health.stdout, health.stdout
        assert "paused by the operator" in health.stdout, health.stdout

        control(tmp_path, env, "resume")
        wait_for("a new trade after the resume", lambda: len(trades(tmp_path)) > count,
                 EFFECT_SECONDS, runner)
        wait_for("two open trades", lambda: len(in_stage(tmp_path, "open")) >= 2, 20, runner)

        first, *others = in_stage(tmp_path, "open")
        control(tmp_path, env, "pause")  # so the flatten below is the last word
        control(tmp_path, env, "close", first, "--yes")
        wait_for(f"{first} closed", lambda: trades(tmp_path)[first] == "closed",
                 EFFECT_SECONDS, runner)
        assert all(trades(tmp_path)[t] == "open" for t in others)

        control(tmp_path, env, "flatten", "--yes")
        wait_for("every trade closed", lambda: set(trades(tmp_path).values()) <= {"closed"},
                 EFFECT_SECONDS, runner)
        assert stop(runner) == 0
        logged = stderr_of(tmp_path, "run")
        assert logged.count("control applied") == 5  # each of the five requests, once
        assert "Traceback" not in logged
    finally:
        kill(runner)


def test_a_control_command_whose_reader_closed_the_pipe_leaves_without_a_traceback(
        tmp_path: Path) -> None:
    populate_store(tmp_path / "state" / "paper")
    read_end, write_end = os.pipe()
    os.close(read_end)  # `runner pause | head` with the reader gone
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "runner", "pause", "micro_strangle"], cwd=tmp_path,
            env=paper_env(tmp_path), stdout=write_end, stderr=subprocess.PIPE, text=True,
            timeout=60, check=False)
    finally:
        os.close(write_end)
    assert "Traceback" not in completed.stderr, completed.stderr
    assert "Exception ignored" not in completed.stderr, completed.stderr
    assert completed.returncode == EXIT_CLOSED_PIPE, completed.stderr
