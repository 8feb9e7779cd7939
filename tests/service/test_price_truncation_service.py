"""The service over a venue that truncates order prices to whole dollars while listing a
0.1 tick (issue 8 finding 9, `SimConfig.truncate_price_to`): resting close sells are
noticed below their price, requoted upward on the learned tick, and the trade closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.service.alerts import LogAlerter
from runner.service.runtime import assemble
from runner.sim.config import SimConfig
from runner.sim.venue import SimVenue
from tests.scenarios.helpers_scenarios import (
    Pager,
    Recorder,
    Scenario,
    paper_settings,
    strategy_from_yaml,
)

START = datetime(2026, 3, 2, 10, 0, 1, tzinfo=UTC)
PATIENT_CLOSE = """
    enabled: true
    underlying: ETH
    legs:
      - {option: call, side: buy, qty: 0.5, expiry: {next: true}, strike: {delta: 0.2}}
    timing: {check_interval: 5s, max_trades_per_day: 1}
    execution:
      open: {profile: aggressive_limit}
      close:
        mode: limit
        phases:
          - {duration: 2m, requote_interval: 30s, price: top_of_book}
          - {duration: 2m, requote_interval: 30s, price: aggressive, offset_pct: 10}
    exits:
      - max_hold: 5m
    """


def _truncating_scenario(tmp_path: Path) -> Scenario:
    spec = strategy_from_yaml(tmp_path, "patient", PATIENT_CLOSE)
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=7, config=SimConfig(truncate_price_to=Decimal(1)))
    settings = paper_settings(tmp_path / "state")
    recorder, pager = Recorder(), Pager()
    runtime = assemble(settings, [spec], clock=clock, exchange=venue, launch=START,
                       listener=recorder.listen, alerter=LogAlerter(clock, sinks=(pager,)))
    recorder.runtime = runtime
    return Scenario(clock, venue, venue, settings, [spec], START, runtime, recorder, pager)


def test_truncated_close_sells_are_requoted_up_on_the_learned_tick_and_the_trade_closes(
        tmp_path: Path) -> None:
    scenario = _truncating_scenario(tmp_path)
    scenario.run_for(timedelta(minutes=12), timedelta(seconds=5))
    (trade,) = scenario.trades()
    assert trade.stage is TradeStage.CLOSED
    symbol = trade.legs[0].symbol
    assert scenario.service.learned_ticks == {symbol: Decimal(1)}
    learned = [data for kind, data in scenario.events if kind == "tick_learned"]
    assert [Decimal(str(d["tick"])) for d in learned][-1] == Decimal(1)

    sells = [o.request.price for o in scenario.orders_of(trade.trade_id)
             if o.request.side is Side.SELL]
    first, *requotes = sells
    assert first % 1 != 0  # priced on the listed 0.1 grid, then kept lower by the venue
    resting = requotes[:-1]  # top-of-book phase: never requoted below the intended price
    assert resting
    assert all(price >= first for price in resting)
    assert resting[-1] % 1 == 0  # on the learned grid: the venue keeps it
    assert requotes[-1] % 1 == 0  # the next phase is rounded to the learned tick at once
    kept = {o.client_order_id: o.price for o in scenario.venue.order_records()}
    for row in scenario.orders_of(trade.trade_id):
        if row.request.price % 1 == 0:
            assert kept[row.client_order_id] == row.request.price
    assert scenario.alerts() == []
    scenario.close()
