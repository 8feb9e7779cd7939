"""C4 through the service: a 5-minute exchange outage (every endpoint answers HTTP 503).

Live, outages produced error storms. Here: the loop survives every tick of it, no new
trade is created while the exchange is unreachable, the exit that fires meanwhile is
retried until the exchange is back and then closes the trade, one "down" page and one
"up" page are sent, and trading resumes after the outage.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from runner.domain.trades import TradeStage
from runner.service.watch import UNREACHABLE_KEY
from runner.sim.faults import FaultPlan, FaultRule
from tests.scenarios.helpers_scenarios import Scenario, shipped

OUTAGE = timedelta(minutes=5)


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    """micro_strangle opens a trade; then every request fails for 5 minutes."""
    plan = FaultPlan.of(seed=3)
    scenario = Scenario.start(tmp_path_factory.mktemp("outage"), shipped("micro_strangle"),
                              faults=plan)
    assert scenario.run_until(scenario.now + timedelta(minutes=1),
                              stop=lambda s: bool(s.in_stage(TradeStage.OPEN)))
    scenario.down_at = scenario.now  # type: ignore[attr-defined]
    plan.add(FaultRule("*", "http_5xx"))
    scenario.run_for(OUTAGE)
    plan.clear()
    scenario.up_at = scenario.now  # type: ignore[attr-defined]
    scenario.run_for(timedelta(minutes=2))
    yield scenario
    scenario.close()


def test_the_loop_survives_every_tick_of_the_outage(outage):
    assert outage.failed_ticks == 0
    assert outage.strategy_errors() == []
    during = [r for r in outage.reports if outage.down_at <= r.at < outage.up_at]
    assert len(during) == OUTAGE.total_seconds()
    assert all(r.snapshot_failures for r in during)
    assert sum(r.entries_blocked for r in during) >= len(during) - 3  # down after 3 ticks


def test_no_trade_is_created_while_the_exchange_is_down(outage):
    created = [t.created_at for t in outage.trades()]
    assert not [at for at in created if outage.down_at <= at < outage.up_at]


def test_the_exit_that_fired_during_the_outage_is_retried_and_closes_after_it(outage):
    first = outage.trades()[0]
    assert first.opened_at < outage.down_at
    assert first.stage is TradeStage.CLOSED
    assert first.exit_reason == "max_hold"
    exit_fired = next(t.at for t in first.transitions if t.to_stage is TradeStage.PENDING_CLOSE)
    assert exit_fired < outage.up_at  # the rule fired on time, during the outage
    assert outage.up_at <= first.closed_at < outage.up_at + timedelta(seconds=30)


def test_one_down_page_and_one_up_page(outage):
    unreachable = [m for m in outage.pager.sent if m.key == UNREACHABLE_KEY]
    assert [m.recovered for m in unreachable] == [False, True]
    down, up = unreachable
    assert outage.down_at < down.at <= outage.down_at + timedelta(seconds=5)
    assert outage.up_at <= up.at <= outage.up_at + timedelta(seconds=5)


def test_trading_resumes_after_the_outage(outage):
    after = [t for t in outage.trades() if t.created_at >= outage.up_at]
    assert after
    assert after[0].created_at < outage.up_at + timedelta(seconds=30)
    assert after[0].stage is TradeStage.CLOSED
    assert outage.net_positions() == {}
