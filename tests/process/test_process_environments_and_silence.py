"""Issue 7, two rows of its table with the real `runner run` process:

- a paper run, then a testnet run on the same state root: each environment has its own
  store, testnet sees no paper trade (no DECISION NEEDED about paper's positions), and
  paper's trade does not count towards testnet's one trade a day (item 4);
- a strategy whose expiry rule can never resolve says why in the log, once for its
  window, instead of running silently (item 10).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from tests.process.helpers_process import (
    STRATEGY,
    exchange_env,
    heartbeat,
    paper_env,
    start_runner,
    start_sim_server,
    stderr_of,
    stop,
    stop_server,
    wait_for,
    write_strategy,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


def _stages(store: Path) -> list[str]:
    if not store.exists():
        return []
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as reader:
            return [row[0] for row in reader.execute("SELECT stage FROM trades")]
    except sqlite3.OperationalError:
        return []


def _opened(store: Path) -> bool:
    return "open" in _stages(store)


def _log(tmp_path: Path) -> str:
    path = tmp_path / "logs" / "trading.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_a_paper_run_then_a_testnet_run_on_one_root_never_share_a_store(tmp_path: Path) -> None:
    paper_store = tmp_path / "state" / "paper" / "runner.sqlite3"
    testnet_store = tmp_path / "state" / "testnet" / "runner.sqlite3"
    paper = start_runner(tmp_path, paper_env(tmp_path), "paper", "--seed", "7")
    try:
        wait_for("the paper trade to open", lambda: _opened(paper_store), 60, paper)
    finally:
        assert stop(paper) == 0, stderr_of(tmp_path, "paper")
    server, url = start_sim_server(tmp_path)
    try:
        testnet = start_runner(tmp_path, exchange_env(tmp_path, url), "testnet")
        try:
            wait_for("the testnet trade to open", lambda: _opened(testnet_store), 60, testnet)
        finally:
            assert stop(testnet) == 0, stderr_of(tmp_path, "testnet")
    finally:
        stop_server(server)
    assert _stages(paper_store) == ["open"]  # paper's trade is where it was, untouched
    assert _stages(testnet_store) == ["open"]  # testnet's own one trade of the day
    testnet_part = _log(tmp_path).split("environment testnet", 1)[1]
    assert "DECISION NEEDED" not in testnet_part
    assert "not opened by this runner" not in testnet_part


UNRESOLVABLE = STRATEGY.replace("expiry: {dte: 1}", "expiry: {dte: 40, min_dte: 40, max_dte: 40}")


def test_a_strategy_that_can_never_resolve_its_legs_says_why_once(tmp_path: Path) -> None:
    strategy = write_strategy(tmp_path, UNRESOLVABLE)
    service = start_runner(tmp_path, paper_env(tmp_path), "silent", "--seed", "7",
                           strategy=strategy)
    reason = "the legs cannot be resolved: leg 0: no listed BTC expiry fits dte 40"
    try:
        wait_for("the reason in the log", lambda: reason in _log(tmp_path), 30, service)
        wait_for("five more ticks", lambda: int(str(heartbeat(tmp_path).get("tick", 0))) >= 6,
                 30, service)
    finally:
        assert stop(service) == 0, stderr_of(tmp_path, "silent")
    lines = [line for line in _log(tmp_path).splitlines() if reason in line]
    assert len(lines) == 1, lines  # once for its window, not every tick
    assert "WARNING" in lines[0]
    assert "cannot open in the window opened at" in lines[0]
