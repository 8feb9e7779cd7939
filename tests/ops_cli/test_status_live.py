"""`runner status` with the service's live numbers: text and JSON pinned (issue 9).

The store is the one `populate_store` writes (a closed, a failed, an opening and a pending
trade); the heartbeat carries the view the service writes each tick (`runner.service.tick_view`),
built here from a hand-made snapshot: marks, greeks and the account as of 30 s ago.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from runner.cli.status_render import render_status
from runner.cli.status_report import read_status
from runner.domain.clock import ManualClock
from runner.domain.snapshot import Greeks, MarketSnapshot
from runner.service.heartbeat import Heartbeat, write_heartbeat
from runner.service.narrator import Narrator
from runner.service.tick_view import TickView, build_view
from runner.store.store import Store, default_store_path
from runner.strategy import load_strategies
from tests.builders import make_account, make_quote, snapshot_of
from tests.ops_cli.helpers_ops_cli import AT, CALL, NOW, PUT, populate_store, run_cli
from tests.shipped import SHIPPED

BEAT_AT = NOW - timedelta(seconds=30)


def _specs() -> list:
    return list(load_strategies(list(SHIPPED)).specs)


def write_live_beat(state_dir: Path, *, state: str = "running",
                    read_before: timedelta | None = None) -> None:
    """The heartbeat a running service writes after a tick: its view of the open trades.
    With `read_before`, the marks, greeks and account were read that long before the beat's
    tick, which read none of them (read_plan reads them only when decisions need them)."""
    store = Store.open(default_store_path(state_dir), ManualClock(BEAT_AT))
    try:
        trades = store.load_active_trades()
    finally:
        store.close()
    read_at = BEAT_AT - (read_before or timedelta(0))
    snapshot = snapshot_of([
        make_quote(CALL, bid=170, ask=180, mark=175, greeks=Greeks(0.15, 0.00002, 9.5, -40.0)),
        make_quote(PUT, bid=150, ask=160, mark=155, greeks=Greeks(-0.14, 0.00002, 9.0, -38.0)),
    ], now=read_at, account=make_account(equity="99987.65", available="99000",
                                         initial="987.65", maintenance="400"))
    narrator = Narrator(lambda _who, _text: None)
    told = narrator.hear(None, _view(read_at, trades, snapshot))
    if read_before is not None:
        bare = snapshot_of([], now=BEAT_AT, account=None, positions=None)
        told = narrator.hear(None, _view(BEAT_AT, trades, bare))
    write_heartbeat(state_dir, Heartbeat(at=BEAT_AT, tick=77, environment="paper",
                                         strategies=("micro_strangle", "rfq_endurance"),
                                         pid=4321, state=state, view=told))


def _view(at: datetime, trades: list, snapshot: MarketSnapshot) -> TickView:
    return build_view(at, _specs(), trades, snapshot, paused=(),
                      counts={"micro_strangle": (1, 3), "rfq_endurance": (0, 1)},
                      windows={"micro_strangle": {"strategy": "micro_strangle",
                                                  "enabled": True, "schedule": None,
                                                  "next": "no schedule: entry is checked "
                                                          "every 0:00:05"}})


PINNED_TEXT = """\
runner status at 2026-03-02 10:00:00 UTC (STORE)
service: running, heartbeat 0:00:30 ago (tick 77, pid 4321, at 09:59:30 UTC)
live numbers as of 09:59:30 UTC (0:00:30 ago)
account: equity 99,987.65 USD, available margin 99,000.00 USD, initial margin 987.65 USD, \
maintenance margin 400.00 USD, margin used 0.99 %
store vs exchange: no difference at the last check
strategies
  micro_strangle: enabled, running; today 1 of 2 trades, 3 of 4 attempts; no schedule: \
entry is checked every 0:00:05
  rfq_endurance: enabled, running; today 0 of 3 trades, 1 of 6 attempts; window unknown \
(give --strategies FILE..., or start the service)
open trades (2)
  micro_strangle-3 OPENING for 0:05:00 (age 0:05:00, limit): orders placed
    unrealized -0.06 USD at mark, realized +0.00 USD, fees 0.00 USD
    delta +0.0015 BTC, gamma +0.000000 BTC per USD, theta -0.40 USD/day, vega +0.10 USD/vol pt
    buy  0.01 BTCUSD-3MAR26-90000-C: filled 0.01 at 181.00 USD, open 0.01, mark 175.00 USD, \
unrealized -0.06 USD
    buy  0.01 BTCUSD-3MAR26-84000-P: filled 0 at -, open 0, mark 155.00 USD, unrealized +0.00 USD
  rfq_endurance-1 PENDING_OPEN for 0:01:00 (age 0:01:00, rfq): entry conditions passed
    unrealized +0.00 USD at mark, realized +0.00 USD, fees 0.00 USD
    delta +0.0000 BTC, gamma +0.000000 BTC per USD, theta +0.00 USD/day, vega +0.00 USD/vol pt
    buy  0.01 BTCUSD-3MAR26-90000-C: filled 0 at -, open 0, mark 175.00 USD, unrealized +0.00 USD
    buy  0.01 BTCUSD-3MAR26-84000-P: filled 0 at -, open 0, mark 155.00 USD, unrealized +0.00 USD
totals: 2 open trades, unrealized -0.06 USD; today 1 trade, 2 closed trades: net -1.14 USD \
(gross -0.10 USD, fees 1.04 USD)
  all open trades: delta +0.0015 BTC, gamma +0.000000 BTC per USD, theta -0.40 USD/day, \
vega +0.10 USD/vol pt
recent closed trades (2)
  micro_strangle-2 FAILED 2026-03-02 09:30:00 UTC (no fill after 10 rounds: unwound): net \
+0.00 USD (gross +0.00 USD, fees 0.00 USD)
  micro_strangle-1 closed 2026-03-02 08:00:20 UTC (max_hold): net -1.14 USD (gross -0.10 USD, \
fees 1.04 USD)
live orders in the ledger (2)
  ORDER intent micro_strangle-3 leg 0 open/entry: buy 0.01 BTCUSD-3MAR26-90000-C at 185.00 USD, \
filled 0
  ORDER accepted micro_strangle-3 leg 1 open/entry: buy 0.01 BTCUSD-3MAR26-84000-P at \
190.00 USD, filled 0
paused: none
control requests (latest 0)
open concerns: none
last alerts (0)
"""


def _normalised(out: str, state_dir: Path, report: dict) -> str:
    out = out.replace(str(default_store_path(state_dir)), "STORE")
    for order in report["live_orders"]:
        out = out.replace(str(order["client_order_id"]), "ORDER")
    return out


def test_status_text_shows_marks_pnl_greeks_account_and_totals_as_of_the_last_tick(
        capsys, state_dir) -> None:
    populate_store(state_dir)
    write_live_beat(state_dir)
    result = run_cli(capsys, "status", "--at", AT)
    assert result.code == 0, result.err
    report = run_cli(capsys, "status", "--at", AT, "--format", "json").json()
    assert _normalised(result.out, state_dir, report) == PINNED_TEXT


TOP_KEYS = {"at", "store", "strategies", "today", "active_trades", "recent_closed",
            "live_orders", "heartbeat", "schedules", "store_check", "control", "live",
            "per_strategy", "totals"}
STRATEGY_KEYS = {"name", "enabled", "paused", "trades_today", "max_trades_per_day",
                 "attempts_today", "max_attempts_per_day", "limit_reached", "window",
                 "window_from"}
TOTAL_KEYS = {"open_trades", "trades_today", "attempts_today", "unrealized_pnl_usd",
              "marks_as_of", "greeks",
              "closed_today", "realized_pnl_today_gross_usd", "fees_today_usd",
              "realized_pnl_today_net_usd"}
LIVE_KEYS = {"as_of", "age_seconds", "account", "totals", "alerts"}
ACCOUNT_KEYS = {"as_of", "equity_usd", "available_margin_usd", "initial_margin_usd",
                "maintenance_margin_usd", "margin_used_pct"}
TRADE_LIVE_KEYS = {"unrealized_pnl_usd", "marks_as_of", "realized_pnl_usd", "fees_usd",
                   "greeks", "greeks_as_of", "legs"}
LEG_LIVE_KEYS = {"symbol", "side", "open_qty", "entry_price_usd", "mark_usd", "mark_as_of",
                 "unrealized_pnl_usd", "greeks", "greeks_as_of"}
CLOSED_KEYS = {"trade_id", "strategy", "stage", "created_at", "closed_at", "exit_reason",
               "pnl_gross_usd", "fees_usd", "pnl_net_usd", "still_held", "failure_reason"}


def test_status_json_carries_the_same_fields_under_pinned_keys(capsys, state_dir) -> None:
    populate_store(state_dir)
    write_live_beat(state_dir)
    report = run_cli(capsys, "status", "--at", AT, "--format", "json").json()
    assert set(report) == TOP_KEYS
    assert all(set(item) == STRATEGY_KEYS for item in report["per_strategy"])
    assert set(report["totals"]) == TOTAL_KEYS
    assert set(report["live"]) == LIVE_KEYS
    assert set(report["live"]["account"]) == ACCOUNT_KEYS
    assert all(set(item) == CLOSED_KEYS for item in report["recent_closed"])
    opening = {t["trade_id"]: t for t in report["active_trades"]}["micro_strangle-3"]
    assert set(opening["live"]) == TRADE_LIVE_KEYS
    assert all(set(leg) == LEG_LIVE_KEYS for leg in opening["live"]["legs"])
    # the same figures as the text: (175 - 181) x 0.01 = -0.06 USD at mark; greeks x 0.01
    assert opening["live"]["unrealized_pnl_usd"] == "-0.06"
    assert opening["live"]["greeks"]["delta"] == 0.15 * 0.01
    assert report["live"]["as_of"] == BEAT_AT.isoformat()
    assert report["live"]["age_seconds"] == 30.0
    assert report["live"]["account"]["equity_usd"] == "99987.65"
    assert report["totals"]["unrealized_pnl_usd"] == "-0.06"
    assert report["totals"]["realized_pnl_today_net_usd"] == "-1.14"
    micro = {s["name"]: s for s in report["per_strategy"]}["micro_strangle"]
    assert (micro["trades_today"], micro["max_trades_per_day"], micro["enabled"],
            micro["paused"], micro["window_from"]) == (1, 2, True, False, "service")


def test_a_stopped_service_shows_its_last_numbers_with_their_age(capsys, state_dir) -> None:
    populate_store(state_dir)
    write_live_beat(state_dir, state="stopped")
    out = run_cli(capsys, "status", "--at", AT).out
    assert "service: STOPPED 0:00:30 ago (tick 77, pid 4321, at 09:59:30 UTC)" in out
    assert "live numbers as of 09:59:30 UTC (0:00:30 ago)" in out


def test_figures_the_last_tick_did_not_read_show_when_they_were_read_and_how_long_ago(
        capsys, state_dir) -> None:
    # The beat's tick (09:59:30) read no account and no chain; both were read at 09:58:50.
    populate_store(state_dir)
    write_live_beat(state_dir, read_before=timedelta(seconds=40))
    out = run_cli(capsys, "status", "--at", AT).out
    assert "live numbers as of 09:59:30 UTC (0:00:30 ago)" in out
    assert ("account (as of 09:58:50 UTC, 1 min 10 s ago): equity 99,987.65 USD, available "
            "margin 99,000.00 USD") in out
    assert ("    unrealized -0.06 USD at mark (marks as of 09:58:50 UTC, 1 min 10 s ago), "
            "realized +0.00 USD, fees 0.00 USD") in out
    assert "mark 175.00 USD (as of 09:58:50 UTC, 1 min 10 s ago), unrealized -0.06 USD" in out
    assert "vega +0.10 USD/vol pt (greeks as of 09:58:50 UTC, 1 min 10 s ago)" in out
    assert ("totals: 2 open trades, unrealized -0.06 USD (marks as of 09:58:50 UTC, 1 min 10 s "
            "ago); today") in out
    assert "greeks unknown" not in out
    report = run_cli(capsys, "status", "--at", AT, "--format", "json").json()
    assert report["live"]["account"]["as_of"] == "2026-03-02T09:58:50+00:00"
    opening = {t["trade_id"]: t for t in report["active_trades"]}["micro_strangle-3"]
    assert opening["live"]["marks_as_of"] == "2026-03-02T09:58:50+00:00"


def test_without_a_view_status_says_the_live_numbers_are_unknown_never_zero(
        capsys, state_dir) -> None:
    populate_store(state_dir)
    out = run_cli(capsys, "status", "--at", AT).out
    assert "live numbers: none" in out
    assert "marks, PnL and greeks unknown (not in the service's last tick)" in out
    assert "totals: 2 open trades, unrealized unknown;" in out


def test_a_failed_trade_shows_its_failure_reason_and_alerts_are_listed(state_dir) -> None:
    populate_store(state_dir)
    write_live_beat(state_dir)
    report = read_status(state_dir.parent / "paper", NOW)
    report["recent_closed"][0]["failure_reason"] = "open rejected: price band"
    report["live"]["alerts"] = [{"at": "2026-03-02T09:59:00+00:00", "strategy": "micro_strangle",
                                 "text": "[CRITICAL] trade.micro_strangle-2: close gave up"}]
    text = render_status(report)
    assert "micro_strangle-2 FAILED 2026-03-02 09:30:00 UTC (open rejected: price band)" in text
    assert ("last alerts (1)\n  09:59:00 UTC micro_strangle: [CRITICAL] "
            "trade.micro_strangle-2: close gave up") in text
