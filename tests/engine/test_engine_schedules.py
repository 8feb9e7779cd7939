"""Schedules: rfq_endurance's three cycles from launch, a daily schedule, trades per cycle,
and the end-of-cycle exit of the cycle a trade opened in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from runner.domain.orders import Side
from runner.engine.decide import new_trade
from runner.strategy.model import (
    CycleSchedule,
    DailySchedule,
    DteExpiry,
    EndOfCycleExit,
    MaxHoldExit,
    MinAvailableMarginCondition,
    TimingSpec,
)
from tests.builders import make_snapshot, make_spec, make_trade, strangle_legs
from tests.engine.helpers_engine import check, decide_at, state

LAUNCH = datetime(2026, 3, 2, 10, 0, 17, tzinfo=UTC)  # T: any moment, not on a minute
MINUTE = timedelta(minutes=1)

RFQ_ENDURANCE = make_spec(
    name="rfq_endurance",
    legs=strangle_legs("0.05", "-0.05", qty="0.5", expiry=DteExpiry(2, 2, 2)),
    entry=[MinAvailableMarginCondition(Decimal(30))],
    timing=TimingSpec(check_interval=timedelta(seconds=5), max_trades_per_day=3,
                      max_attempts_per_day=6),
    schedule=CycleSchedule(first_open_after=MINUTE, open_window=5 * MINUTE,
                           close_after=10 * MINUTE, gap=5 * MINUTE, count=3),
    exits=(EndOfCycleExit(), MaxHoldExit(20 * MINUTE)),
)


def _decide(now: datetime, **changes):
    return decide_at(RFQ_ENDURANCE, now, snapshot=make_snapshot(now),
                     strategy_state=state(LAUNCH, **changes))


@pytest.mark.parametrize(("offset", "cycle"), [
    (timedelta(0), None),
    (MINUTE - timedelta(seconds=1), None),
    (MINUTE, 0),  # cycle k opens at T + 1 min + 15k min ...
    (6 * MINUTE - timedelta(seconds=1), 0),
    (6 * MINUTE, None),  # ... for 5 minutes
    (16 * MINUTE, 1),
    (21 * MINUTE - timedelta(seconds=1), 1),
    (21 * MINUTE, None),
    (31 * MINUTE, 2),
    (36 * MINUTE, None),
    (24 * 60 * MINUTE, None),  # never again in this run
])
def test_rfq_endurance_opens_only_inside_its_three_windows_from_launch(offset: timedelta,
                                                                       cycle: int | None) -> None:
    decision = _decide(LAUNCH + offset)
    assert check(decision, "schedule").passed is (cycle is not None)
    if cycle is None:
        assert decision.open is None
    else:
        assert decision.open is not None
        assert decision.open.cycle == cycle


def test_outside_the_windows_the_detail_names_the_next_window_or_the_end() -> None:
    before = check(_decide(LAUNCH), "schedule")
    assert before.detail == ("outside every open window; next window opens at "
                             "2026-03-02T10:01:17+00:00")
    after = check(_decide(LAUNCH + 40 * MINUTE), "schedule")
    assert after.detail.endswith("every cycle of this run has passed")


def test_one_trade_per_cycle_then_the_next_cycle_opens_again() -> None:
    done_in_0 = {0: 1}
    blocked = _decide(LAUNCH + 2 * MINUTE, trades_per_cycle=done_in_0)
    assert blocked.open is None
    assert check(blocked, "trades_per_cycle").detail == "1 of 1 trades in cycle 0"
    again = _decide(LAUNCH + 16 * MINUTE, trades_per_cycle=done_in_0)
    assert again.open is not None
    assert again.open.cycle == 1


def test_rfq_endurance_resolves_a_two_day_strangle_near_005_delta_worth_an_rfq() -> None:
    now = LAUNCH + 2 * MINUTE
    decision = _decide(now)
    assert decision.open is not None
    call, put = decision.open.legs
    assert call.instrument.expiry == datetime(2026, 3, 4, 8, tzinfo=UTC)
    assert put.instrument.expiry == call.instrument.expiry
    assert abs(call.delta - 0.05) < 0.03
    assert abs(put.delta + 0.05) < 0.03
    assert decision.open.notional_usd > Decimal(50_000)  # strike x qty summed
    trade = new_trade(RFQ_ENDURANCE, decision.open, "rfq-1", make_snapshot(now), now)
    assert trade.cycle == 0


def _held(cycle: int, opened: datetime):
    return make_trade([("BTCUSD-4MAR26-96000-C", Side.BUY, "0.5", 50),
                       ("BTCUSD-4MAR26-78000-P", Side.BUY, "0.5", 40)],
                      cycle=cycle, created_at=opened, opened_at=opened)


def test_a_cycle_trade_closes_at_open_start_plus_ten_minutes() -> None:
    trade = _held(0, LAUNCH + 2 * MINUTE)
    before = _decide(LAUNCH + 11 * MINUTE - timedelta(seconds=1), active_trades=(trade,))
    assert before.closes == ()
    at_close = _decide(LAUNCH + 11 * MINUTE, active_trades=(trade,))
    assert [(c.trade_id, c.reason) for c in at_close.closes] == [("t-1", "end_of_cycle")]


def test_end_of_cycle_uses_the_cycle_the_trade_opened_in() -> None:
    late = _held(0, LAUNCH + 5 * MINUTE)
    current = _held(1, LAUNCH + 17 * MINUTE)
    decision = _decide(LAUNCH + 18 * MINUTE, active_trades=(late, current))
    assert len(decision.closes) == 1
    assert decision.closes[0].reason == "end_of_cycle"
    assert "cycle 0" in decision.closes[0].detail


def test_e5_when_two_exits_fire_the_first_declared_wins() -> None:
    trade = _held(0, LAUNCH + 2 * MINUTE)
    decision = _decide(LAUNCH + 30 * MINUTE, active_trades=(trade,))  # both have fired
    assert [c.reason for c in decision.closes] == ["end_of_cycle"]


# -- a daily schedule ------------------------------------------------------------------------
DAILY = make_spec(
    schedule=DailySchedule(open_at=time(12, 0, tzinfo=UTC), open_window=timedelta(hours=1),
                           close_at=time(7, 0, tzinfo=UTC)),
    exits=(EndOfCycleExit(),),
    timing=TimingSpec(max_trades_per_day=None),
)
DAY = date(2026, 3, 2)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("now", "open_"), [
    (_at(DAY, 11, 59), False), (_at(DAY, 12, 0), True), (_at(DAY, 12, 59), True),
    (_at(DAY, 13, 0), False),
])
def test_a_daily_schedule_opens_its_window_every_utc_day(now: datetime, open_: bool) -> None:
    decision = decide_at(DAILY, now)
    assert (decision.open is not None) is open_
    if open_:
        assert decision.open is not None
        assert decision.open.cycle == DAY.toordinal()


def test_a_daily_cycle_allows_trades_per_cycle_then_waits_for_the_next_day() -> None:
    done = {DAY.toordinal(): 1}
    assert decide_at(DAILY, _at(DAY, 12, 30),
                     strategy_state=state(trades_per_cycle=done)).open is None
    tomorrow = decide_at(DAILY, _at(DAY + timedelta(days=1), 12, 30),
                         strategy_state=state(trades_per_cycle=done))
    assert tomorrow.open is not None


def test_a_daily_cycle_closing_before_its_open_time_closes_the_next_morning() -> None:
    trade = make_trade([("BTCUSD-27MAR26-90000-C", Side.SELL, "0.1", 900)],
                       cycle=DAY.toordinal(), created_at=_at(DAY, 12, 10))
    next_morning = DAY + timedelta(days=1)
    assert decide_at(DAILY, _at(next_morning, 6, 59),
                     strategy_state=state(active_trades=(trade,))).closes == ()
    closes = decide_at(DAILY, _at(next_morning, 7, 0),
                       strategy_state=state(active_trades=(trade,))).closes
    assert [c.reason for c in closes] == ["end_of_cycle"]


def test_a_daily_window_crossing_midnight_belongs_to_the_day_it_opened() -> None:
    late = make_spec(schedule=DailySchedule(open_at=time(23, 30, tzinfo=UTC),
                                            open_window=timedelta(hours=1),
                                            close_at=time(6, 0, tzinfo=UTC)))
    decision = decide_at(late, _at(DAY + timedelta(days=1), 0, 15))
    assert decision.open is not None
    assert decision.open.cycle == DAY.toordinal()


def test_end_of_cycle_is_skipped_for_a_trade_without_a_cycle() -> None:
    trade = make_trade([("BTCUSD-27MAR26-90000-C", Side.SELL, "0.1", 900)],
                       created_at=_at(DAY, 1))
    assert decide_at(DAILY, _at(DAY + timedelta(days=3), 8),
                     strategy_state=state(active_trades=(trade,))).closes == ()
