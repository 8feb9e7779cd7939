"""The real `runner run` with RUNNER_MARKET_FEED=ws: against a `runner sim-server` process
(testnet settings pointed at it) and in paper mode; a bad feed setting is exit 2."""

from __future__ import annotations

import re
from pathlib import Path

from runner.cli.sim_server import DEFAULT_API_SECRET
from tests.process.helpers_process import (
    STRATEGY,
    exchange_env,
    heartbeat,
    paper_env,
    run_cli,
    start_runner,
    start_sim_server,
    stderr_of,
    stop,
    stop_server,
    wait_for,
    write_strategy,
)


def _log(tmp_path: Path) -> str:
    path = tmp_path / "logs" / "trading.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _trade_opened(tmp_path: Path) -> bool:
    return "stage=open," in _log(tmp_path)


def test_run_against_the_sim_server_reads_prices_pushed_over_its_websocket(
        tmp_path: Path) -> None:
    server, base_url = start_sim_server(tmp_path)
    env = exchange_env(tmp_path, base_url) | {"RUNNER_MARKET_FEED": "ws"}
    runner = start_runner(tmp_path, env, "ws")
    try:
        wait_for("the trade to open", lambda: _trade_opened(tmp_path), 60, runner)
        wait_for("ticks holding it", lambda: int(str(heartbeat(tmp_path).get("tick", 0))) >= 5,
                 30, runner)
        assert stop(runner) == 0
    finally:
        stop_server(server)
    log = _log(tmp_path)
    port = base_url.rsplit(":", 1)[1]
    assert f"market feed: WebSocket ws://127.0.0.1:{port}/options and " \
           f"ws://127.0.0.1:{port}/futures" in log
    assert DEFAULT_API_SECRET not in log + stderr_of(tmp_path, "ws")
    assert "sign=" not in log  # the signed URL is never written
    served = re.search(r"market feed stopped: (\d+) reads served from pushes", log)
    assert served is not None
    assert int(served.group(1)) > 0


def test_paper_mode_serves_its_simulator_on_loopback_for_the_feed(tmp_path: Path) -> None:
    env = paper_env(tmp_path) | {"RUNNER_MARKET_FEED": "ws", "RUNNER_FEED_STALE_SECONDS": "3"}
    runner = start_runner(tmp_path, env, "paper")
    try:
        wait_for("the trade to open", lambda: _trade_opened(tmp_path), 60, runner)
        assert heartbeat(tmp_path).get("state") == "running"
        assert stop(runner) == 0
    finally:
        stop(runner)
    assert "a price older than 3 s is not used" in _log(tmp_path)


def test_a_bad_feed_setting_stops_the_start_with_exit_2_naming_the_variable(
        tmp_path: Path) -> None:
    env = paper_env(tmp_path) | {"RUNNER_MARKET_FEED": "push"}
    done = run_cli(tmp_path, env, "run", str(write_strategy(tmp_path)), "--tick", "1s",
                   "--env-file", str(tmp_path / "no.env"))
    assert done.returncode == 2
    assert "RUNNER_MARKET_FEED='push' is not valid" in done.stderr


def test_run_trades_on_through_websocket_drops_stalls_and_out_of_order_pushes(
        tmp_path: Path) -> None:
    server, base_url = start_sim_server(
        tmp_path, None, "--ws-faults",
        "drop_every=1.5,stall_every=2,stall_for=1.5,out_of_order_every=3")
    env = exchange_env(tmp_path, base_url) | {"RUNNER_MARKET_FEED": "ws",
                                              "RUNNER_FEED_STALE_SECONDS": "1"}
    # A held trade whose loss stop reads its legs' prices at every check, so the lean read
    # plan (issue 11) asks for prices each tick and the feed has reads to serve.
    watched = write_strategy(tmp_path, STRATEGY.replace(
        "  - max_hold: 1h", "  - max_hold: 1h\n  - max_loss: {pct: 95}"))
    runner = start_runner(tmp_path, env, "faults", strategy=watched)
    try:
        wait_for("the trade to open", lambda: _trade_opened(tmp_path), 60, runner)
        wait_for("ticks through the faults",
                 lambda: int(str(heartbeat(tmp_path).get("tick", 0))) >= 14, 40, runner)
        assert stop(runner) == 0
    finally:
        stop_server(server)
    log = _log(tmp_path)
    summary = re.search(r"market feed stopped: (\d+) reads served from pushes, (\d+) from "
                        r"REST; \d+ pushes taken, (\d+) out of order dropped, \d+ arrived "
                        r"already stale; (\d+) connections", log)
    assert summary is not None
    served, rest, reordered, connections = map(int, summary.groups())
    assert served > 0  # the feed served between faults
    assert rest > 0  # and REST stood in while it was stale
    assert reordered > 0
    assert connections > 2  # dropped and stalled sockets were replaced
    assert "tick failed" not in log
    assert "strategy isolated" not in log
