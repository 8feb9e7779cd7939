"""Issue 9, with the real process: `runner run` talks on its console (summary, trade opened)
and `runner status` shows the running service's marks, PnL, greeks and account, then,
after Ctrl+C, the same numbers as of the last tick of the stopped service."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.process.helpers_process import (
    heartbeat,
    paper_env,
    run_cli,
    start_runner,
    stderr_of,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


def _open_trade_priced(tmp_path: Path) -> bool:
    view = heartbeat(tmp_path).get("view") or {}
    return any(t["stage"] == "open" and t["unrealized_pnl_usd"] is not None
               for t in view.get("trades", []))  # type: ignore[union-attr]


def test_a_running_service_says_what_it_does_and_status_shows_its_live_numbers(
        tmp_path: Path) -> None:
    env = paper_env(tmp_path)
    service = start_runner(tmp_path, env, "service")
    try:
        wait_for("an open, priced trade", lambda: _open_trade_priced(tmp_path), 60, service)
        report = json.loads(run_cli(tmp_path, env, "status", "--format", "json").stdout)
        text = run_cli(tmp_path, env, "status").stdout
    finally:
        code = stop(service)
    assert code == 0, stderr_of(tmp_path, "service")
    console = stderr_of(tmp_path, "service") + (tmp_path / "service.out").read_text()
    assert "summary: equity 100,000.00 USD" in console
    assert "opened process_probe-" in console
    (trade,) = report["active_trades"]
    assert trade["live"]["unrealized_pnl_usd"] is not None
    assert set(trade["live"]["greeks"]) == {"delta", "gamma", "theta", "vega"}
    assert report["live"]["account"]["equity_usd"] is not None
    assert "service: running" in text
    assert "live numbers as of " in text
    assert "process_probe: enabled, running; today 1 of 1 trade (DAILY LIMIT REACHED)" in text
    after = run_cli(tmp_path, env, "status").stdout
    assert "service: STOPPED" in after
    assert "live numbers as of " in after
    assert "unrealized " in after
    assert "marks, PnL and greeks unknown" not in after
