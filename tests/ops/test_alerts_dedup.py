"""C4: one down alert and one recovery per outage; repeats held back, not lost."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from runner.domain.clock import ManualClock
from runner.service.alerts import (
    AlertGate,
    AlertLevel,
    AlertMessage,
    LogAlerter,
    apply_problems,
)
from runner.service.health import HEALTH_PROBLEM_KEYS
from tests.ops.helpers_ops import FAKE_KEY, read_logs


class Recorder:
    """A sink that keeps what it was given."""

    def __init__(self) -> None:
        self.messages: list[AlertMessage] = []

    def send(self, message: AlertMessage) -> None:
        self.messages.append(message)


class Broken:
    def send(self, message: AlertMessage) -> None:
        raise ConnectionError(f"cannot reach the channel with {FAKE_KEY}")


@pytest.fixture
def sink() -> Recorder:
    return Recorder()


@pytest.fixture
def alerter(clock: ManualClock, sink: Recorder) -> LogAlerter:
    return LogAlerter(clock, repeat_after=timedelta(minutes=30), sinks=[sink])


def test_c4_a_five_minute_outage_gives_one_down_and_one_up_alert(
    clock: ManualClock, alerter: LogAlerter, sink: Recorder, log_dir: Path
) -> None:
    started = clock.now()
    for _ in range(60):  # the loop reports the outage every 5 s for 5 minutes
        alerter.alert("exchange.unreachable", "exchange unreachable", level=AlertLevel.CRITICAL)
        clock.advance(timedelta(seconds=5))
    for _ in range(3):
        alerter.recover("exchange.unreachable", "exchange reachable again")
    assert [(m.key, m.recovered) for m in sink.messages] == [
        ("exchange.unreachable", False), ("exchange.unreachable", True)]
    down, up = sink.messages
    assert down.at == started
    assert down.level is AlertLevel.CRITICAL
    assert up.down_for == timedelta(minutes=5)
    assert up.render() == ("[RECOVERED] exchange.unreachable: exchange reachable again "
                           "(lasted 5 min)")
    text = read_logs(log_dir, "trading.log")
    assert text.count("exchange.unreachable") == 2
    assert "CRITICAL | runner.service.alerts" in text


def test_a_long_problem_is_reminded_once_per_period_with_the_count_held_back(
    clock: ManualClock, alerter: LogAlerter, sink: Recorder
) -> None:
    for _ in range(7):  # every 10 minutes for 70 minutes
        alerter.alert("margin.high", "margin used 85%")
        clock.advance(timedelta(minutes=10))
    assert [m.suppressed for m in sink.messages] == [0, 2, 2]
    assert sink.messages[1].render() == "[WARNING] margin.high: margin used 85% (2 repeats " \
                                        "suppressed)"


def test_a_recovery_without_an_alert_is_not_sent(alerter: LogAlerter, sink: Recorder) -> None:
    assert not alerter.recover("exchange.unreachable", "fine")
    assert sink.messages == []


def test_different_keys_are_independent(alerter: LogAlerter, sink: Recorder) -> None:
    assert alerter.alert("prices.stale", "index:BTC frozen")
    assert alerter.alert("margin.high", "85%")
    assert not alerter.alert("prices.stale", "index:BTC frozen")
    assert alerter.active() == ("margin.high", "prices.stale")


def test_after_a_recovery_the_next_outage_alerts_again(
    clock: ManualClock, alerter: LogAlerter, sink: Recorder
) -> None:
    alerter.alert("exchange.unreachable", "down")
    alerter.recover("exchange.unreachable", "up")
    clock.advance(timedelta(seconds=1))
    assert alerter.alert("exchange.unreachable", "down again")
    assert len(sink.messages) == 3


def test_the_strategy_is_carried_and_shown(alerter: LogAlerter, sink: Recorder,
                                           log_dir: Path) -> None:
    alerter.alert("trade.close_failed", "close attempts exhausted", strategy="micro_strangle",
                  level=AlertLevel.CRITICAL)
    assert sink.messages[0].render() == ("[CRITICAL] trade.close_failed: close attempts "
                                         "exhausted (strategy micro_strangle)")
    assert " | micro_strangle | " in read_logs(log_dir, "trading.log")


def test_a_failing_channel_never_raises_into_the_caller(clock: ManualClock, sink: Recorder,
                                                        log_dir: Path) -> None:
    alerter = LogAlerter(clock, sinks=[Broken(), sink])
    assert alerter.alert("exchange.unreachable", "down")
    assert len(sink.messages) == 1
    text = read_logs(log_dir, "trading.log")
    assert "alert channel Broken failed: ConnectionError" in text
    assert FAKE_KEY not in text


def test_alert_text_is_redacted_before_any_channel_sees_it(alerter: LogAlerter, sink: Recorder,
                                                           log_dir: Path) -> None:
    alerter.alert("auth.failed", f"signature refused for key {FAKE_KEY}")
    assert FAKE_KEY not in sink.messages[0].text
    assert FAKE_KEY not in read_logs(log_dir)


def test_alerts_never_reach_the_health_log(alerter: LogAlerter, log_dir: Path) -> None:
    alerter.alert("exchange.unreachable", "down")
    assert "exchange.unreachable" not in read_logs(log_dir, "health.log")


def test_health_problems_are_applied_as_alerts_and_recoveries(
    clock: ManualClock, alerter: LogAlerter, sink: Recorder
) -> None:
    apply_problems(alerter, {"account.unread": "no account", "margin.high": "85%"},
                   HEALTH_PROBLEM_KEYS)
    clock.advance(timedelta(minutes=5))
    apply_problems(alerter, {"margin.high": "85%"}, HEALTH_PROBLEM_KEYS)
    apply_problems(alerter, {}, HEALTH_PROBLEM_KEYS)
    assert [(m.key, m.recovered) for m in sink.messages] == [
        ("account.unread", False), ("margin.high", False),
        ("account.unread", True), ("margin.high", True)]
    assert alerter.active() == ()


def test_the_same_problem_in_two_strategies_alerts_for_each(alerter: LogAlerter,
                                                            sink: Recorder) -> None:
    assert alerter.alert("trade.close_failed", "exhausted", strategy="micro_strangle")
    assert alerter.alert("trade.close_failed", "exhausted", strategy="rfq_endurance")
    assert not alerter.alert("trade.close_failed", "exhausted", strategy="micro_strangle")
    assert alerter.recover("trade.close_failed", "closed", strategy="rfq_endurance")
    assert alerter.active() == ("trade.close_failed@micro_strangle",)


def test_the_gate_remembers_a_bounded_number_of_keys_forgetting_the_longest_quiet(
        clock: ManualClock) -> None:
    """A page per trade is never recovered: a year of them must not pile up (issue 12)."""
    gate = AlertGate(timedelta(minutes=30), max_active=3)
    for number in range(10):
        assert gate.admit_alert(f"trade.{number}", clock.now()) == 0
        clock.advance(timedelta(minutes=1))
    assert gate.active() == ("trade.7", "trade.8", "trade.9")
    gate.admit_alert("trade.7", clock.now() + timedelta(hours=1))  # a reminder: sent last
    gate.admit_alert("exchange.unreachable", clock.now() + timedelta(hours=1))
    assert gate.active() == ("exchange.unreachable", "trade.7", "trade.9")
    assert gate.admit_recovery("trade.8", clock.now()) is None
