"""A real `kill -9` of `runner run` mid-open, against `runner sim-server` over HTTP (A1, D3).

Two processes, as in production: the simulated Coincall exchange (`runner sim-server`,
real clock) and the service (`runner run`, TRADING_ENVIRONMENT=testnet pointed at it).
The server holds the first (or the second) order request for 3 s (a latency fault), and
the runner is killed with SIGKILL as soon as the store shows that order's intent: the
request is in flight, its answer can never arrive. The runner is started again; it must adopt the
order the exchange did take, finish the round trip, and open nothing more (one trade a
day). Then SIGTERM stops it cleanly (exit 0). Checked through the REST client against the
exchange: no working order, flat, each leg bought once and sold once.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.clock import SystemClock
from runner.domain.orders import Side
from runner.service.settings import load_settings
from runner.service.venues import coincall_client
from tests.process.helpers_process import exchange_env

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")]

STRATEGY = """\
version: 1
name: micro_kill
description: one small strangle round trip a day, killed mid-open
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.01
  expiry: {dte: 1}
  call: {delta: 0.15}
  put: {delta: -0.15}
entry:
  - min_available_margin_pct: 30
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
  - max_hold: 2s
"""

# The n-th order request (0-based `after`) is held 3 s by the server: the kill lands while
# it is in flight, once the store shows that many intents.
FAULTS = """\
rules:
  - {{endpoint: place_order, kind: latency, seconds: 3, after: {after}, count: 1}}
"""


def start_sim_server(tmp_path: Path, held: int) -> tuple[subprocess.Popen[str], str]:
    faults = tmp_path / "faults.yaml"
    faults.write_text(FAULTS.format(after=held), encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "runner", "sim-server", "--port", "0", "--seed", "11",
         "--faults", str(faults)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert server.stdout is not None
    line = server.stdout.readline().strip()
    assert line.startswith("listening on "), line
    return server, line.removeprefix("listening on ")


def runner_env(tmp_path: Path, base_url: str) -> dict[str, str]:
    """Testnet pointed at the loopback sim-server (the process tests' one builder)."""
    return exchange_env(tmp_path, base_url)


def start_runner(tmp_path: Path, env: dict[str, str], name: str) -> subprocess.Popen[str]:
    with (tmp_path / f"{name}.out").open("w", encoding="utf-8") as out:  # the child keeps it
        return subprocess.Popen(
            [sys.executable, "-m", "runner", "run", str(tmp_path / "micro_kill.yaml"),
             "--tick", "1s", "--env-file", str(tmp_path / "no.env")],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def query(store: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the runner's store through a read-only connection (WAL lets us)."""
    if not store.exists():
        return []
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as reader:
            return reader.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet, or busy: ask again


def wait_for(what: str, check: Callable[[], bool], seconds: float,
             alive: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        assert alive.poll() is None, f"the runner exited ({alive.returncode}) waiting for {what}"
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")


@pytest.mark.parametrize("held", [
    pytest.param(0, id="first-order-in-flight"),
    pytest.param(1, id="second-order-in-flight"),
])
def test_kill_9_mid_open_then_restart_finishes_one_round_trip_and_nothing_more(
        tmp_path: Path, held: int) -> None:
    """A1, D3: killed as soon as the store shows the intent of the held order."""
    (tmp_path / "micro_kill.yaml").write_text(STRATEGY, encoding="utf-8")
    store = tmp_path / "state" / "testnet" / "runner.sqlite3"  # one directory per environment
    began = datetime.now(UTC) - timedelta(minutes=1)
    server, base_url = start_sim_server(tmp_path, held)
    first = None  # reaped below even when a wait fails (no runner outlives its test)
    try:
        env = runner_env(tmp_path, base_url)
        first = start_runner(tmp_path, env, "first")
        wait_for(f"{held + 1} order intent(s)",
                 lambda: len(query(store, "SELECT 1 FROM orders")) > held, 60, first)
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        # The restart waits out the venue's 1 s rate window of the killed process's reads
        # (a new limiter starts empty; the service managers restart after 30 s).
        time.sleep(1.2)

        second = start_runner(tmp_path, env, "second")
        try:
            wait_for("the trade closed", lambda: query(
                store, "SELECT stage FROM trades") in ([("closed",)], [("failed",)]), 120,
                second)
            time.sleep(3)  # inside the day: nothing else may open
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, (tmp_path / "second.out").read_text()
        finally:
            if second.poll() is None:
                second.kill()
        assert query(store, "SELECT stage FROM trades") == [("closed",)]
        check_the_exchange(env, base_url, began)
    finally:
        if first is not None and first.poll() is None:
            first.kill()
            first.wait(10)
        server.send_signal(signal.SIGTERM)
        server.wait(10)
        said = server.stdout.read() if server.stdout is not None else ""
        if server.stdout is not None:
            server.stdout.close()
    # the venue enforced its rate limits (section 7): the runner never tripped them
    assert "throttled answers: 0" in said.splitlines(), said


def check_the_exchange(env: dict[str, str], base_url: str, since: datetime) -> None:
    settings = load_settings({**env, "COINCALL_BASE_URL": base_url})
    client = coincall_client(settings, SystemClock())
    try:
        assert client.open_orders() == []
        assert [(p.symbol, p.qty) for p in client.positions() if p.qty != 0] == []
        traded: dict[str, dict[Side, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for fill in client.fills(since):
            traded[fill.symbol][fill.side] += fill.qty
    finally:
        client.close()
    assert len(traded) == 2  # one strangle: a call and a put
    for symbol, sides in traded.items():
        assert dict(sides) == {Side.BUY: Decimal("0.01"), Side.SELL: Decimal("0.01")}, symbol
