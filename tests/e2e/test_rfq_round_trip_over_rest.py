"""A strangle opened and closed by RFQ by the real service over HTTP, in both worlds.

Issue 8, "Done means": the suite passes with the simulator's defaults (taker key, JSON RFQ
bodies, rate limits on) and in the FORM world. The service (runtime.assemble) trades an
RFQ-only strategy through the Coincall adapter against the sim-server on loopback, started
with `rfq_body` JSON (the 2026-07 docs) or FORM (seen live on 2026-07-09); the adapter
starts with JSON either way, so in the FORM world its first accept is refused with 10004
and sent once more as FORM. Both worlds end the same: one block trade to open, one to
close, no position left, the encoding the venue takes learnt, and the venue never
throttled the runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.clock import ManualClock
from runner.domain.trades import TradeStage
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.endpoints import BodyKind as AdapterBody
from runner.service.alerts import LogAlerter
from runner.service.runtime import assemble
from runner.service.settings import Secret
from runner.sim.faults import FaultPlan
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from runner.sim.wire_in import BodyKind
from tests.scenarios.helpers_scenarios import (
    Pager,
    Recorder,
    Scenario,
    paper_settings,
    strategy_from_yaml,
)

KEY = "rfq-round-trip-key"
SECRET = "rfq-round-trip-secret"
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TICK = timedelta(seconds=5)
RFQ_ONLY = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.5, expiry: {dte: 2},
                call: {delta: 0.3}, put: {delta: -0.3}}
    timing: {check_interval: 5s, max_trades_per_day: 1}
    execution:
      open: {mode: rfq, timeout: 1m, min_improvement_pct: 0, fallback: none}
      close: {mode: rfq, timeout: 1m, min_improvement_pct: 0,
              fallback: {mode: limit, fill_timeout: 30s, requote_rounds: 10}}
    exits:
      - max_hold: 3m
    """
WORLDS = {"json": (BodyKind.JSON, AdapterBody.JSON), "form": (BodyKind.FORM, AdapterBody.FORM)}


@dataclass(frozen=True)
class World:
    scenario: Scenario
    server: SimServer
    rest: CoincallClient
    encoding: AdapterBody  # the one the venue takes, in the adapter's words


@pytest.fixture(params=sorted(WORLDS))
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=7)
    venue.set_maker_behaviour(book_offset_pct=Decimal(2))  # quotes 2 % better than the book
    with SimServer(venue, KEY, SECRET, clock, FaultPlan(seed=3),
                   rfq_body=WORLDS[request.param][0]) as server, CoincallClient(
            base_url=server.base_url, api_key=Secret(KEY), api_secret=Secret(SECRET),
            clock=clock, sleep=clock.sleep) as rest:
        spec = strategy_from_yaml(tmp_path, "rfq_only", RFQ_ONLY)
        recorder, pager = Recorder(), Pager()
        runtime = assemble(paper_settings(tmp_path / "state"), [spec], clock=clock,
                           exchange=rest, launch=START, listener=recorder.listen,
                           alerter=LogAlerter(clock, sinks=(pager,)))
        recorder.runtime = runtime
        scenario = Scenario(clock, venue, rest, runtime.settings, [spec], START, runtime,
                            recorder, pager)
        yield World(scenario, server, rest, WORLDS[request.param][1])
        scenario.close()


def closed(scenario: Scenario) -> bool:
    return any(trade.stage is TradeStage.CLOSED for trade in scenario.trades())


def test_an_rfq_strangle_opens_and_closes_over_http_in_the_json_and_form_worlds(
        world: World) -> None:
    scenario = world.scenario
    assert scenario.run_until(START + timedelta(minutes=15), TICK, stop=closed)
    (trade,) = scenario.trades()
    assert trade.stage is TradeStage.CLOSED
    assert trade.exit_reason == "max_hold"
    assert len(scenario.venue.block_trades(START)) == 2  # open and close, both by RFQ
    assert scenario.venue.positions() == []
    assert scenario.venue.open_orders() == []
    assert world.rest.rfq_body is world.encoding
    assert world.server.throttled == 0, "the runner tripped the venue's rate limits (section 7)"
