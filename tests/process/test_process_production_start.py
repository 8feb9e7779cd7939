"""Issue 7 item 9: a production start names the base URL the orders really go to and what
the API key may do, and sends no order in the 10 s after the banner (`--yes` skips the
wait). Real `runner run` with TRADING_ENVIRONMENT=production, pointed by
COINCALL_BASE_URL at a loopback `runner sim-server` (the settings allow a production
environment on another host; only the reverse is refused)."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.process.helpers_process import (
    exchange_env,
    kill,
    start_runner,
    start_sim_server,
    stderr_of,
    stop,
    stop_server,
    wait_for,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


def orders_sent(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as reader:
            return reader.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.parametrize("yes", [False, True], ids=["interactive", "scripted --yes"])
def test_production_banner_names_the_real_url_and_key_and_holds_orders_10_s(
        tmp_path: Path, yes: bool) -> None:
    server, url = start_sim_server(tmp_path)
    store = tmp_path / "state" / "production" / "runner.sqlite3"
    try:
        extra = ("--yes",) if yes else ()
        service = start_runner(tmp_path, exchange_env(tmp_path, url, "production"), "service",
                               *extra)
        try:
            wait_for("the banner", lambda: "Orders go to" in stderr_of(tmp_path, "service"),
                     30, service)
            shown = time.monotonic()
            wait_for("the first order", lambda: orders_sent(store) > 0, 40, service)
            first_order = time.monotonic() - shown
        finally:
            code = stop(service)
            kill(service)
    finally:
        stop_server(server)
    stderr = stderr_of(tmp_path, "service")
    print(f"first order {first_order:.1f} s after the banner ({'--yes' if yes else 'no --yes'})")
    assert code == 0, stderr
    assert f"Orders go to {url}" in stderr
    assert "api.coincall.com" not in stderr
    assert "API key: may trade (not read-only)" in stderr
    if yes:
        assert "Trading starts now (--yes)" in stderr
        assert first_order < 10
    else:
        assert "Trading starts in 10 s" in stderr
        assert first_order >= 10


def test_ctrl_c_during_the_production_wait_stops_before_any_order(tmp_path: Path) -> None:
    server, url = start_sim_server(tmp_path)
    try:
        service = start_runner(tmp_path, exchange_env(tmp_path, url, "production"), "service")
        try:
            wait_for("the banner", lambda: "Orders go to" in stderr_of(tmp_path, "service"),
                     30, service)
            began = time.monotonic()
            code = stop(service)
            took = time.monotonic() - began
        finally:
            kill(service)
    finally:
        stop_server(server)
    assert code == 0, stderr_of(tmp_path, "service")
    assert took < 8  # the stop cut the 10 s wait short (a loaded machine took 2.1 s)
    # the store was never opened
    assert not (tmp_path / "state" / "production" / "runner.sqlite3").exists()
