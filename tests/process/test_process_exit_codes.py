"""Issue 7 item 6: every way `runner run` ends is one exit code of the contract, with a
one-line reason on stderr and no raw traceback for a known cause.

0 stopped on request; 2 configuration or usage error; 3 the loop failed repeatedly;
4 the environment is broken (state or logs unwritable, disk full). Real processes.
"""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from runner.service import exit_codes
from tests.process.helpers_process import (
    STRATEGY,
    exchange_env,
    heartbeat,
    kill,
    paper_env,
    start_runner,
    start_sim_server,
    stderr_of,
    stop,
    stop_server,
    ticking,
    wait_for,
    write_strategy,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and limits")]

DISABLED = STRATEGY.replace("enabled: true", "enabled: false")


def finish(tmp_path: Path, env: dict[str, str], name: str = "run", **popen: object) -> int:
    process = start_runner(tmp_path, env, name, **popen)  # type: ignore[arg-type]
    return process.wait(60)


def assert_one_clean_reason(stderr: str, *words: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if all(w in line for w in words)]
    assert lines, f"no line with {words} in:\n{stderr}"


def test_no_keys_is_a_configuration_error(tmp_path: Path) -> None:
    env = paper_env(tmp_path) | {"TRADING_ENVIRONMENT": "testnet"}
    assert finish(tmp_path, env) == exit_codes.CONFIGURATION
    assert_one_clean_reason(stderr_of(tmp_path, "run"), "COINCALL_API_KEY_TEST is not set")


def test_no_enabled_strategy_is_a_configuration_error(tmp_path: Path) -> None:
    strategy = write_strategy(tmp_path, DISABLED)
    process = start_runner(tmp_path, paper_env(tmp_path), "run", strategy=strategy)
    assert process.wait(60) == exit_codes.CONFIGURATION
    assert_one_clean_reason(stderr_of(tmp_path, "run"), "no enabled, valid strategy")


def test_an_invalid_key_is_a_configuration_error(tmp_path: Path) -> None:
    server, url = start_sim_server(tmp_path, faults=(
        "rules:\n  - {endpoint: api_key_info, kind: error, code: 10560, "
        "message: invalid apiKey}\n"))
    try:
        assert finish(tmp_path, exchange_env(tmp_path, url)) == exit_codes.CONFIGURATION
    finally:
        stop_server(server)
    assert_one_clean_reason(stderr_of(tmp_path, "run"), "refusing to start")


def test_unwritable_logs_at_start_exit_4_saying_why(tmp_path: Path) -> None:
    (tmp_path / "logs").write_text("a file where the log directory should be")
    assert finish(tmp_path, paper_env(tmp_path)) == exit_codes.ENVIRONMENT
    assert_one_clean_reason(stderr_of(tmp_path, "run"), "log directory", "not writable")


def test_an_unwritable_state_directory_at_start_exits_4_saying_why(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the state directory should be")
    assert finish(tmp_path, paper_env(tmp_path)) == exit_codes.ENVIRONMENT
    assert_one_clean_reason(stderr_of(tmp_path, "run"), "state directory", "not writable")


def limit_file_size(limit: int) -> None:
    """In the child: a file may not grow past `limit` bytes, as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_full_disk_at_start_exits_4_without_a_traceback(tmp_path: Path) -> None:
    code = finish(tmp_path, paper_env(tmp_path), preexec_fn=lambda: limit_file_size(12_000))
    stderr = stderr_of(tmp_path, "run")
    assert code == exit_codes.ENVIRONMENT, stderr
    assert_one_clean_reason(stderr, "exit 4", "the environment is broken", "disk I/O error")


def test_a_snapshot_that_cannot_be_written_never_ends_the_loop(tmp_path: Path) -> None:
    (tmp_path / "state" / "paper").mkdir(parents=True)
    (tmp_path / "state" / "paper" / "trade_state.json").mkdir()  # the snapshot's replace must fail
    env = paper_env(tmp_path)
    service = start_runner(tmp_path, env, "service")
    try:
        wait_for("a tick", ticking(tmp_path, service.pid), 30, service)
        wait_for("three more ticks", lambda: int(str(heartbeat(tmp_path).get("tick", 0))) >= 4,
                 30, service)
    finally:
        code = stop(service)
    assert code == exit_codes.STOPPED, stderr_of(tmp_path, "service")
    log = (tmp_path / "logs" / "trading.log").read_text(encoding="utf-8")
    assert log.count("the open-trades snapshot failed") == 1  # once, not every minute
    assert "Traceback" not in stderr_of(tmp_path, "service")


def test_a_disk_that_fills_while_running_ends_the_loop_with_4(tmp_path: Path) -> None:
    """The store cannot write (every file is held at its size, as on a full disk) while a
    trade must be closed: ten ticks of failed writes, then exit 4 for a delayed restart."""
    strategy = write_strategy(tmp_path, STRATEGY.replace("max_hold: 1h", "max_hold: 4s"))
    store = tmp_path / "state" / "paper" / "runner.sqlite3"
    # stderr is a pipe: the file-size limit must not silence the reason itself
    service = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", str(strategy), "--tick", "1s",
         "--env-file", str(tmp_path / "no.env")],
        cwd=tmp_path, env=paper_env(tmp_path), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        wait_for("the open trade", lambda: trade_stages(store) == ["open"], 30,
                 service)  # type: ignore[arg-type]
        resource.prlimit(service.pid, resource.RLIMIT_FSIZE, (1, 1))  # the disk is full
        _, stderr = service.communicate(timeout=60)
    finally:
        kill(service)  # type: ignore[arg-type]
    assert service.returncode == exit_codes.ENVIRONMENT, stderr[-3000:]
    assert "exit 4" in stderr
    assert "the store failed to write in 10 ticks in a row" in stderr
    assert "unhandled exception" not in stderr


def trade_stages(store: Path) -> list[str]:
    if not store.exists():
        return []
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as reader:
            return [row[0] for row in reader.execute("SELECT stage FROM trades")]
    except sqlite3.OperationalError:
        return []
