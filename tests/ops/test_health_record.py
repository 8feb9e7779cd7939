"""The 5-minute health line and stale-price detection (C1, C4, C5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.domain.snapshot import Account, Greeks, MarketSnapshot, Position
from runner.exchange.errors import ExchangeUnavailable
from runner.service.alerts import AlertMessage, LogAlerter
from runner.service.health import (
    HEALTH_PROBLEM_KEYS,
    HealthLimits,
    HealthMonitor,
    HealthRecord,
    format_health_record,
    health_problems,
    log_health_record,
)
from runner.service.staleness import StalenessTracker
from runner.sim.venue import SimVenue
from tests.ops.helpers_ops import read_logs

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class RecordingSink:
    def __init__(self) -> None:
        self.messages: list[AlertMessage] = []

    def send(self, message: AlertMessage) -> None:
        self.messages.append(message)


def _snapshot(*, account: Account | None, positions: tuple[Position, ...] | None,
              failures: tuple[str, ...] = ()) -> MarketSnapshot:
    return MarketSnapshot(at=START + timedelta(hours=26, minutes=3, seconds=4),
                          index_prices={Underlying.BTC: Decimal(70000)}, account=account,
                          positions=positions, failures=failures)


def _position(symbol: str, qty: str, delta: float) -> Position:
    return Position(symbol, Decimal(qty), Decimal("0.01"), Decimal("0.012"), Decimal(0),
                    Greeks(delta=delta, gamma=0.0, vega=0.0, theta=0.0))


def test_a_record_is_built_from_the_ticks_snapshot() -> None:
    account = Account(equity=Decimal("12000"), available_margin=Decimal("9000"),
                      initial_margin=Decimal("3000"), maintenance_margin=Decimal("1500"))
    positions = (_position("BTCUSD-3MAR26-72000-C", "0.01", 0.0015),
                 _position("BTCUSD-3MAR26-68000-P", "-0.01", 0.0012))
    record = HealthRecord.from_snapshot(_snapshot(account=account, positions=positions),
                                        reachable=True, open_trades=1, started_at=START)
    assert record.equity == Decimal("12000")
    assert record.margin_used_pct == Decimal(25)
    assert record.positions == 2
    assert record.portfolio_delta == pytest.approx(0.0027)
    assert format_health_record(record) == (
        "health at=2026-03-03T12:03:04+00:00 equity=12000.00USD available_margin=9000.00USD "
        "margin_used=25.0% positions=2 delta=+0.0027 exchange=reachable stale_prices=none "
        "open_trades=1 uptime=1d02h03m04s")


def test_failed_reads_show_as_unknown_never_as_zero_or_flat() -> None:
    """C5: a failed positions read is not 'no positions'."""
    snapshot = _snapshot(account=None, positions=None, failures=("account", "positions"))
    record = HealthRecord.from_snapshot(snapshot, reachable=False, stale_prices=["index:BTC"])
    line = format_health_record(record)
    for unknown in ("equity=n/a", "positions=n/a", "delta=n/a", "margin_used=n/a"):
        assert unknown in line
    assert "exchange=UNREACHABLE" in line
    assert "stale_prices=index:BTC" in line
    assert line.endswith('failed_reads="account; positions"')


def test_the_record_goes_to_health_log(log_dir: Path) -> None:
    log_health_record(HealthRecord(at=START, reachable=True, equity=Decimal("5")))
    assert "health at=2026-03-02T10:00:00+00:00 equity=5.00USD" in read_logs(log_dir,
                                                                             "health.log")
    assert "equity=5.00USD" not in read_logs(log_dir, "trading.log")


def test_account_problems_are_named_by_stable_alert_keys() -> None:
    record = HealthRecord(at=START, reachable=False, equity=Decimal("90"),
                          margin_used_pct=Decimal("85.5"), stale_prices=("index:ETH",))
    problems = health_problems(record, HealthLimits(min_equity=Decimal(100)))
    assert set(problems) == {"margin.high", "equity.low"}
    assert set(problems) <= set(HEALTH_PROBLEM_KEYS)
    assert problems["margin.high"] == "margin used 85.5% is above 80%"
    assert problems["equity.low"] == "equity 90.00 USD is below 100 USD"


def test_a_healthy_record_has_no_problems() -> None:
    record = HealthRecord(at=START, reachable=True, equity=Decimal(1000),
                          margin_used_pct=Decimal(10))
    assert health_problems(record) == {}


def test_an_unread_account_is_a_problem() -> None:
    assert "account.unread" in health_problems(HealthRecord(at=START, reachable=True))


def test_an_unreachable_exchange_is_not_alerted_twice_as_an_unread_account() -> None:
    assert health_problems(HealthRecord(at=START, reachable=False)) == {}


class Unreachable:
    """An exchange whose account endpoints fail (C5)."""

    def account(self) -> Account:
        raise ExchangeUnavailable("HTTP 503", endpoint="/open/account/summary/v1")

    def positions(self) -> list[Position]:
        raise ExchangeUnavailable("HTTP 503", endpoint="/open/option/position/get/v1")


def test_the_monitor_reads_the_account_logs_one_line_and_stays_quiet_when_healthy(
    clock: ManualClock, log_dir: Path
) -> None:
    sink = RecordingSink()
    monitor = HealthMonitor(SimVenue(clock, seed=1), clock,
                            alerter=LogAlerter(clock, sinks=[sink]))
    clock.advance(timedelta(minutes=5))
    record = monitor.record(reachable=True, open_trades=0)
    assert record.equity == Decimal(100000)
    assert record.positions == 0
    assert record.uptime == timedelta(minutes=5)
    lines = read_logs(log_dir, "health.log").splitlines()
    assert len(lines) == 1
    assert "equity=100000.00USD" in lines[0]
    assert "uptime=0d00h05m00s" in lines[0]
    assert sink.messages == []


def test_the_monitor_reports_failed_reads_as_unknown_and_alerts_once(
    clock: ManualClock, log_dir: Path
) -> None:
    """C5: a failed account read is n/a and an alert, never zero equity or 'flat'."""
    sink = RecordingSink()
    monitor = HealthMonitor(Unreachable(), clock, alerter=LogAlerter(clock, sinks=[sink]))
    for _ in range(3):
        record = monitor.record(reachable=True)
        clock.advance(timedelta(minutes=5))
    assert record.equity is None
    assert record.positions is None
    line = read_logs(log_dir, "health.log").splitlines()[-1]
    assert line.endswith('failed_reads="account: ExchangeUnavailable; '
                         'positions: ExchangeUnavailable"')
    assert [m.key for m in sink.messages] == ["account.unread"]


def test_c1_a_frozen_index_alarms_within_60_seconds() -> None:
    """C1: the index froze at 69 461 while the market moved; alarm within 60 s."""
    tracker = StalenessTracker(timedelta(seconds=60))
    price = Decimal(69400)
    for second in range(0, 120, 5):
        now = START + timedelta(seconds=second)
        if second <= 30:  # the feed moves until 30 s, then freezes at its last value
            price += 1
        tracker.observe("index:BTC", price, now)
        if second < 90:
            assert tracker.stale(now) == (), second
    frozen_at = START + timedelta(seconds=30)
    assert tracker.is_stale("index:BTC", frozen_at + timedelta(seconds=60))
    [stale] = tracker.stale(frozen_at + timedelta(seconds=60))
    assert (stale.key, stale.value, stale.unchanged_since) == ("index:BTC", price, frozen_at)


def test_a_moving_value_is_never_stale() -> None:
    tracker = StalenessTracker()
    for second in range(600):
        tracker.observe("index:BTC", 70000 + second % 2, START + timedelta(seconds=second))
    assert tracker.stale(START + timedelta(seconds=600)) == ()


def test_a_key_no_longer_observed_becomes_stale_and_can_be_forgotten() -> None:
    tracker = StalenessTracker(timedelta(seconds=60))
    tracker.observe("mark:BTCUSD-3MAR26-70000-C", Decimal("0.01"), START)
    later = START + timedelta(seconds=61)
    assert [v.key for v in tracker.stale(later)] == ["mark:BTCUSD-3MAR26-70000-C"]
    tracker.forget("mark:BTCUSD-3MAR26-70000-C")
    assert tracker.stale(later) == ()


def test_only_the_frozen_key_is_reported() -> None:
    tracker = StalenessTracker(timedelta(seconds=60))
    for second in range(0, 70, 10):
        now = START + timedelta(seconds=second)
        tracker.observe("index:BTC", 70000 + second, now)
        tracker.observe("index:ETH", 3500, now)
    assert [v.key for v in tracker.stale(START + timedelta(seconds=60))] == ["index:ETH"]


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        StalenessTracker(timedelta(0))
