"""`runner simulate` as a trader reads it (issue 12 items 3 and 4, issue 9 item 5).

The example reverse iron condor (RFQ, no fallback) fails its 13:00 entry on seed 3: the
book has no bid for its short call wing, so no quote can be judged. Its failure says so
in the report, the summary, and the per-strategy table; its cycle reads as the day it
belongs to, not as the day's ordinal; the equity curve lies beside the JSON report; the
per-strategy figures add up from the trades.
"""

from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stdout
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from runner.cli.app import main
from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.service.simulation_report import (
    cycle_words,
    equity_curve,
    failure_kind,
    max_drawdown,
    strategy_figures,
)
from runner.strategy.model import CycleSchedule, DailySchedule
from tests.scenarios.helpers_scenarios import PROFILES, REPO

CONDOR = REPO / "strategies.d" / "examples" / "reverse_iron_condor_rfq.yaml"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def condor(tmp_path_factory):
    """The condor, enabled, over its 13:00 window of 3 March (seed 3), with a report:
    what `runner simulate` printed, the JSON report, and the folder it wrote to."""
    folder = tmp_path_factory.mktemp("condor")
    strategy = folder / "reverse_iron_condor_rfq.yaml"
    strategy.write_text(CONDOR.read_text(encoding="utf-8").replace(
        "enabled: false", "enabled: true"), encoding="utf-8")
    (folder / "profiles.yaml").write_text(PROFILES.read_text(encoding="utf-8"),
                                          encoding="utf-8")
    report = folder / "run.json"
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["simulate", str(strategy), "--duration", "1h",
                     "--start", "2026-03-03T12:30:00Z", "--seed", "3",
                     "--report", str(report)])
    assert code == 0, out.getvalue()
    return out.getvalue(), json.loads(report.read_text(encoding="utf-8")), folder


def test_a_failed_trade_says_why_in_the_report(condor) -> None:
    _, report, _ = condor
    (trade,) = report["trades"]
    assert trade["stage"] == "failed"
    assert trade["failure_reason"].startswith("no quote could be judged within 3m: the"
                                              " orderbook had no bid for BTCUSD-")
    assert trade["failure_reason"].endswith("; fallback none")
    assert trade["exit_reason"] == f"failed: {trade['failure_reason']}"


def test_a_failed_trade_says_why_in_the_summary_and_the_table(condor) -> None:
    out, report, _ = condor
    reason = report["trades"][0]["failure_reason"]
    assert f"[failed: {reason}]" in out
    assert "[-]" not in out
    assert "failed 1x: no quote could be judged within 3m" in out
    (row,) = report["per_strategy"]
    assert row["failed"] == 1
    assert row["failed_by_reason"] == {"no quote could be judged within 3m": 1}


def test_a_daily_cycle_reads_as_its_day_not_its_ordinal(condor) -> None:
    out, report, _ = condor
    (trade,) = report["trades"]
    assert trade["cycle"] == "daily cycle of 2026-03-03"
    assert trade["cycle_index"] == date(2026, 3, 3).toordinal()
    assert "daily cycle of 2026-03-03" in out


def test_the_equity_curve_lies_beside_the_report(condor) -> None:
    out, report, folder = condor
    curve = folder / "run.equity.csv"
    assert f"equity curve to {curve}" in out
    rows = list(csv.DictReader(curve.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == {"at": "2026-03-03T12:30:00Z", "trade_id": "", "strategy": "",
                       "trade_net_pnl_usd": "0", "equity_usd": "0", "strategy_equity_usd": "0"}
    assert [r["trade_id"] for r in rows[1:]] == [t["trade_id"] for t in report["trades"]]
    assert float(rows[-1]["equity_usd"]) == pytest.approx(report["totals"]["pnl_usd"])


# -- the figures, from trades made by hand -------------------------------------------------
def closed(trade_id: str, strategy: str, entry: str, exit_: str, fee: str,
           minutes: int) -> Trade:
    leg = TradeLeg(0, "BTCUSD-6MAR26-95000-C", Side.BUY, Decimal(1))
    leg = leg.with_open_fill(Decimal(1), Decimal(entry), Decimal(fee))
    leg = leg.with_close_fill(Decimal(1), Decimal(exit_))
    at = T0 + timedelta(minutes=minutes)
    trade = Trade.create(trade_id, strategy, (leg,), T0).moved_to(TradeStage.OPEN, "f", T0)
    trade = trade.moved_to(TradeStage.PENDING_CLOSE, "x", at)
    return trade.moved_to(TradeStage.CLOSED, "done", at)


def failed(trade_id: str, strategy: str, reason: str, minutes: int) -> Trade:
    leg = TradeLeg(0, "BTCUSD-6MAR26-95000-C", Side.BUY, Decimal(1))
    return Trade.create(trade_id, strategy, (leg,), T0).with_failure_reason(reason).moved_to(
        TradeStage.FAILED, "gave up", T0 + timedelta(minutes=minutes))


BOOK = [closed("a1", "a", "100", "110", "1", 1),   # +9
        closed("a2", "a", "100", "80", "1", 2),    # -21
        closed("a3", "a", "100", "105", "1", 3),   # +4
        failed("a4", "a", "no quote arrived within 3m: the makers sent no usable quote", 4),
        failed("a5", "a", "no quote arrived within 3m: the makers sent no usable quote", 5),
        closed("b1", "b", "100", "90", "0.5", 6)]  # -10.5


def test_the_table_counts_wins_fees_worst_trade_drawdown_and_failures_by_kind() -> None:
    a, b = strategy_figures(BOOK, ["a", "b"])
    assert (a.trades, a.closed, a.wins, a.failed_count) == (5, 3, 2, 2)
    assert a.win_rate == pytest.approx(2 / 3)
    assert a.net_pnl == Decimal(-8)
    assert a.fees == Decimal(3)
    assert (a.worst_trade, a.worst_pnl) == ("a2", Decimal(-21))
    assert a.max_drawdown == Decimal(21)  # from +9 down to -12
    assert a.failed == {"no quote arrived within 3m": 2}
    assert (b.trades, b.net_pnl, b.max_drawdown) == (1, Decimal("-10.5"), Decimal("10.5"))


def test_the_equity_curve_steps_at_each_close_in_order() -> None:
    points = equity_curve(BOOK)
    assert [p.trade_id for p in points] == ["a1", "a2", "a3", "a4", "a5", "b1"]
    assert [p.equity for p in points] == [Decimal(9), Decimal(-12), Decimal(-8), Decimal(-8),
                                          Decimal(-8), Decimal("-18.5")]
    assert points[-1].strategy_equity == Decimal("-10.5")


@pytest.mark.parametrize(("pnls", "drawdown"), [
    ([], 0), ([5, 5], 0), ([-3], 3), ([10, -4, -4, 20, -25], 25), ([-1, -1, 5, -2], 2)])
def test_drawdown_is_the_largest_fall_from_a_peak_that_starts_at_zero(pnls, drawdown) -> None:
    assert max_drawdown(Decimal(p) for p in pnls) == Decimal(drawdown)


@pytest.mark.parametrize(("reason", "kind"), [
    ("no quote beat the book by 0.5 % within 3m: best quote was 1.8 % worse (4 quotes);"
     " fallback none", "no quote beat the book by 0.5 % within 3m"),
    ("entry orders not filled within 1m: 2 pricing rounds, 0 requotes; missing leg 0",
     "entry orders not filled within 1m"),
    ("interrupted before any order was sent; too old to open now",
     "interrupted before any order was sent; too old to open now"),
    (None, "no reason recorded")])
def test_failures_are_counted_by_kind_without_their_particulars(reason, kind) -> None:
    assert failure_kind(reason) == kind


def test_cycles_read_as_a_trader_names_them() -> None:
    daily = DailySchedule(open_at=time(13), open_window=timedelta(hours=1), close_at=time(19))
    minutes = [timedelta(minutes=m) for m in (1, 5, 10, 5)]
    cycles = CycleSchedule(*minutes, count=3)
    assert cycle_words(daily, T0, date(2026, 3, 2).toordinal()) == "daily cycle of 2026-03-02"
    assert cycle_words(cycles, T0, 1) == "cycle 2 of 3 (opened 2026-03-02 10:16Z)"
    assert cycle_words(None, T0, None) is None


def test_the_report_option_says_it_writes_the_equity_curve(capsys) -> None:
    assert main(["simulate", "--help"]) == 0
    assert "equity curve" in " ".join(capsys.readouterr().out.split())
