"""A trade held through expiry settles over REST (issue 8 finding 1, lessons G2).

The real service (runtime.assemble) trades through the Coincall adapter against the
sim-server on loopback: the delivery price travels as the documented
`[{date, delivery_price}]` rows, and the expired legs are booked at their intrinsic value
against it. Before the fix the adapter could not read the documented answer, so no
expired trade ever settled.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from helpers_simserver import KEY, SECRET

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying, parse_symbol
from runner.domain.trades import TradeStage
from runner.exchange.coincall.client import CoincallClient
from runner.reconcile.settlement import intrinsic_value
from runner.service.alerts import LogAlerter
from runner.service.runtime import assemble
from runner.service.settings import Secret
from runner.sim.faults import FaultPlan
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from tests.scenarios.helpers_scenarios import (
    Pager,
    Recorder,
    Scenario,
    paper_settings,
    strategy_from_yaml,
)

START = datetime(2026, 3, 2, 7, 58, 1, tzinfo=UTC)
EXPIRY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TICK = timedelta(seconds=7)
LONG_STRANGLE = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                call: {delta: 0.3}, put: {delta: -0.3}}
    timing: {check_interval: 5s, max_trades_per_day: 1}
    execution: {open: {profile: aggressive_limit}, close: {profile: aggressive_limit}}
    exits:
      - max_hold: 2h
    """


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[Scenario]:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=7)
    with SimServer(venue, KEY, SECRET, clock, FaultPlan(seed=3)) as server, CoincallClient(
            base_url=server.base_url, api_key=Secret(KEY), api_secret=Secret(SECRET),
            clock=clock, sleep=clock.sleep) as rest:
        spec = strategy_from_yaml(tmp_path, "held", LONG_STRANGLE)
        recorder, pager = Recorder(), Pager()
        runtime = assemble(paper_settings(tmp_path / "state"), [spec], clock=clock,
                           exchange=rest, launch=START, listener=recorder.listen,
                           alerter=LogAlerter(clock, sinks=(pager,)))
        recorder.runtime = runtime
        running = Scenario(clock, venue, rest, runtime.settings, [spec], START, runtime,
                           recorder, pager)
        yield running
        running.close()
        assert server.throttled == 0, "the runner tripped the venue's rate limits (section 7)"


def test_a_strangle_held_through_expiry_is_booked_at_the_published_delivery_price(
        scenario: Scenario) -> None:
    scenario.run_until(EXPIRY + timedelta(seconds=30), TICK)
    (trade,) = scenario.trades()
    assert trade.stage is TradeStage.CLOSED
    assert trade.exit_reason == "expiry"
    delivery = scenario.venue.delivery_price(Underlying.BTC, EXPIRY)
    assert delivery is not None
    for leg in trade.legs:
        assert leg.exit_price == intrinsic_value(parse_symbol(leg.symbol), delivery)
    assert sum((leg.exit_price or Decimal(0) for leg in trade.legs), Decimal(0)) > 0
