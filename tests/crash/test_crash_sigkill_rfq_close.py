"""A real `kill -9` of `runner run` right after a close RFQ's accept: fees booked once (E6).

The issue 7 row: killed right after a close RFQ's accept (4 of 4 tries), the restarted
runner booked the close fee twice (recovery credited the block trade, then the executor
added its fee again), so `runner status` showed the wrong net PnL. Two processes, as in
production: `runner sim-server` (real clock) and `runner run` pointed at it. The server
holds the second accept request (the close's) for 3 s; the runner is killed with
SIGKILL as soon as the store shows that accept's intent. Restarted, it must finish the
round trip, and the trade's fees must equal what the exchange charged for its fills.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.clock import SystemClock
from runner.service.settings import load_settings
from runner.service.venues import coincall_client
from runner.store.store import Store
from tests.crash.test_crash_sigkill_process import query, runner_env, wait_for

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")]

STRATEGY = """\
version: 1
name: rfq_kill
description: one strangle bought and sold back by RFQ, killed after the close's accept
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.5
  expiry: {dte: 2}
  call: {delta: 0.05}
  put: {delta: -0.05}
timing:
  check_interval: 1s
  max_concurrent_trades: 1
  max_trades_per_day: 1
  max_attempts_per_day: 1
execution:
  open: {mode: rfq, timeout: 30s, min_improvement_pct: -10,
         fallback: {mode: limit, fill_timeout: 5s, requote_rounds: 10}}
  close: {mode: rfq, timeout: 30s, min_improvement_pct: -10,
          fallback: {mode: limit, fill_timeout: 5s, requote_rounds: 10}}
exits:
  - max_hold: 2s
"""

FAULTS = """\
rules:
  - {endpoint: accept_quote, kind: latency, seconds: 3, after: 1, count: 1}
"""


def start_sim_server(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    faults = tmp_path / "faults.yaml"
    faults.write_text(FAULTS, encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "runner", "sim-server", "--port", "0", "--seed", "11",
         "--faults", str(faults)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert server.stdout is not None
    line = server.stdout.readline().strip()
    assert line.startswith("listening on "), line
    return server, line.removeprefix("listening on ")


def start_runner(tmp_path: Path, env: dict[str, str], name: str) -> subprocess.Popen[str]:
    with (tmp_path / f"{name}.out").open("w", encoding="utf-8") as out:  # the child keeps it
        return subprocess.Popen(
            [sys.executable, "-m", "runner", "run", str(tmp_path / "rfq_kill.yaml"),
             "--tick", "1s", "--env-file", str(tmp_path / "no.env")],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def test_kill_9_after_a_close_rfq_accept_books_each_fee_once(tmp_path: Path) -> None:
    (tmp_path / "rfq_kill.yaml").write_text(STRATEGY, encoding="utf-8")
    store_path = tmp_path / "state" / "testnet" / "runner.sqlite3"  # one per environment
    began = datetime.now(UTC) - timedelta(minutes=1)
    server, base_url = start_sim_server(tmp_path)
    first = None  # reaped below even when a wait fails (no runner outlives its test)
    try:
        env = runner_env(tmp_path, base_url)
        first = start_runner(tmp_path, env, "first")
        wait_for("the close's accept intent", lambda: bool(query(
            store_path, "SELECT 1 FROM rfqs WHERE purpose = 'close'"
                        " AND accept_quote_id IS NOT NULL")), 90, first)
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        time.sleep(3.5)  # the held accept is done on the exchange; its answer was lost

        second = start_runner(tmp_path, env, "second")
        try:
            wait_for("the trade closed", lambda: query(
                store_path, "SELECT stage FROM trades") == [("closed",)], 90, second)
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, (tmp_path / "second.out").read_text()
        finally:
            if second.poll() is None:
                second.kill()
        charged = fees_charged(env, base_url, began)
        store = Store.open(store_path, SystemClock())
        try:
            (trade,) = store.load_trades()
        finally:
            store.close()
        assert charged > Decimal(0)
        assert trade.fees() == charged  # once each: the open's fee and the close's fee
    finally:
        if first is not None and first.poll() is None:
            first.kill()
            first.wait(10)
        server.send_signal(signal.SIGTERM)
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()


def fees_charged(env: dict[str, str], base_url: str, since: datetime) -> Decimal:
    settings = load_settings({**env, "COINCALL_BASE_URL": base_url})
    client = coincall_client(settings, SystemClock())
    try:
        fills = client.fills(since)
    finally:
        client.close()
    assert {fill.side for fill in fills} == {fill.side.opposite for fill in fills}  # round trip
    return sum((fill.fee for fill in fills), Decimal(0))
