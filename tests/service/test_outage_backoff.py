"""Lesson C4: the loop polls slower while the exchange is unreachable, and at its normal
cadence again as soon as it answers; the alarms and the entry block are unchanged.

The real `Service.run` over the in-process simulator behind `FaultyExchange`, with a
`ManualClock` whose `sleep` moves simulated time: micro_strangle opens its second trade of
the day, then every request fails for 5 minutes (HTTP 503) while that trade's 10 s
max_hold exit fires, then the exchange is back for 2 minutes.

Issue 11 (lean reads): a tick reads only what is due, so the outage is met by the first
read due after it began (here the close the max_hold exit starts, at the latest the 30 s
liveness read), and the exchange is unreachable `UNREACHABLE_AFTER` reading ticks later.
The faults are switched between ticks, so the exchange answers again from the first
between-ticks moment at or after the planned end (`back_at`); while unreachable every
slow tick makes the liveness read, so the very next tick finds the exchange reachable.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from runner.domain.trades import TradeStage
from runner.service.read_plan import LIVENESS_EVERY
from runner.service.tick_cadence import SLOWER_BY, SLOWEST_SECONDS, seconds_until_next_tick
from runner.service.tick_report import TickReport
from runner.service.watch import STALE_KEY, UNREACHABLE_AFTER, UNREACHABLE_KEY
from runner.sim.faults import FaultPlan, FaultRule
from tests.scenarios.helpers_scenarios import Scenario, shipped

NORMAL_S = 1.0
DOWN_AFTER = timedelta(seconds=20)  # the second trade is open by then
OUTAGE = timedelta(minutes=5)
UP_FOR = timedelta(minutes=2)


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    plan = FaultPlan.of(seed=3)
    scenario = Scenario.start(tmp_path_factory.mktemp("backoff"), shipped("micro_strangle"),
                              faults=plan)
    down_at, up_at = scenario.now + DOWN_AFTER, scenario.now + DOWN_AFTER + OUTAGE
    ticks: list[TickReport] = []
    back: list = []  # when the faults were cleared: the exchange answers from then on

    def switch_faults(report: TickReport) -> None:  # between ticks, as an outage would
        ticks.append(report)
        now = scenario.now
        if down_at <= now < up_at and not plan.rules:
            plan.add(FaultRule("*", "http_5xx"))
        elif now >= up_at and not back:
            plan.clear()
            back.append(now)

    scenario.service.run(NORMAL_S, on_tick=switch_faults, until=up_at + UP_FOR)
    yield scenario, ticks, down_at, up_at, back[0]
    scenario.close()


def gaps(ticks: list[TickReport], start: datetime, end: datetime) -> list[float]:
    times = [t.at for t in ticks if start <= t.at < end]
    return [(b - a).total_seconds() for a, b in pairwise(times)]


def test_C4_the_loop_ticks_three_times_slower_while_the_exchange_is_unreachable(outage):
    _scenario, ticks, down_at, up_at, back_at = outage
    met = next(t.at for t in ticks if t.at >= down_at and t.snapshot_failures)
    assert met <= down_at + LIVENESS_EVERY  # the first read due after the outage began
    blocked = [t.at for t in ticks if t.entries_blocked]
    assert blocked, "the exchange was never taken as unreachable"
    assert blocked[0] == met + timedelta(seconds=(UNREACHABLE_AFTER - 1) * NORMAL_S)
    assert all(t.snapshot_failures for t in ticks if met <= t.at <= back_at)  # each tick reads
    assert set(gaps(ticks, blocked[0], up_at)) == {NORMAL_S * SLOWER_BY}
    during = [t for t in ticks if down_at <= t.at < up_at]
    assert len(during) < OUTAGE.total_seconds() / 2  # ~100 ticks instead of 300


def test_C4_the_normal_cadence_returns_at_the_first_tick_that_reaches_the_exchange(outage):
    _scenario, ticks, down_at, up_at, back_at = outage
    assert set(gaps(ticks, down_at - DOWN_AFTER, down_at)) == {NORMAL_S}
    assert up_at <= back_at < up_at + timedelta(seconds=SLOWER_BY * NORMAL_S)
    first_after = next(t for t in ticks if t.at > back_at)  # one slow tick after the return
    assert first_after.at == back_at + timedelta(seconds=SLOWER_BY * NORMAL_S)
    assert not first_after.entries_blocked
    recovered = first_after.at
    assert set(gaps(ticks, recovered, up_at + UP_FOR)) == {NORMAL_S}


def test_C4_backing_off_keeps_the_alarms_one_down_page_and_one_up_page(outage):
    scenario, _ticks, down_at, up_at, _back_at = outage
    pages = [m for m in scenario.pager.sent if m.key == UNREACHABLE_KEY]
    assert [m.recovered for m in pages] == [False, True]
    assert down_at < pages[0].at < up_at <= pages[1].at
    stale = [m for m in scenario.pager.sent if m.key == STALE_KEY]  # the frozen index, too
    assert [m.recovered for m in stale] == [False, True]
    assert down_at < stale[0].at < up_at <= stale[1].at


def test_C4_while_backing_off_no_entry_is_made_and_the_exit_is_retried_until_it_closes(
        outage):
    scenario, _ticks, down_at, up_at, _back_at = outage
    assert not [t for t in scenario.trades() if down_at <= t.created_at < up_at]
    held = [t for t in scenario.trades() if t.created_at < down_at < (t.closed_at or up_at)]
    assert len(held) == 1, [t.trade_id for t in scenario.trades()]
    (trade,) = held
    fired = next(t.at for t in trade.transitions if t.to_stage is TradeStage.PENDING_CLOSE)
    assert down_at <= fired < up_at  # the exit fired on time during the outage
    assert trade.stage is TradeStage.CLOSED
    assert trade.exit_reason == "max_hold"
    assert trade.closed_at is not None
    assert up_at <= trade.closed_at < up_at + timedelta(seconds=30)
    assert scenario.net_positions() == {}


@pytest.mark.parametrize(("normal", "reachable", "expected"), [
    (1.0, True, 1.0), (1.0, False, 3.0), (5.0, False, 15.0), (30.0, False, SLOWEST_SECONDS),
    (90.0, False, 90.0), (90.0, True, 90.0)])
def test_C4_the_wait_is_three_times_the_normal_at_most_60_s_never_below_normal(
        normal: float, reachable: bool, expected: float) -> None:
    assert seconds_until_next_tick(normal, reachable=reachable) == expected
