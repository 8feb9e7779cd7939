"""A4: a graceful stop never changes trade state; a restart carries on with the same trades.

The old runner's `stop()` turned OPEN trades into PENDING_CLOSE while the positions stayed
on the exchange. Here the stop is what `runner run` does on SIGTERM: the loop finishes its
tick (`request_stop`, A5), working orders are cancelled, the store is closed. Then the
service is assembled again on the same store and the same venue: the same trades are
there in the same stages, an OPEN trade exits when its own rule says so, and an open
that was interrupted resumes without a spurious alarm about the orders cancelled at the
stop (their final state is reported again when the resumed execution cancels them).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from runner.domain.commands import CancelOrder, OrderUpdated
from runner.domain.trades import TradeStage
from runner.strategy.model import MaxHoldExit
from tests.scenarios.helpers_scenarios import Scenario, shipped, strategy_from_yaml

DOWNTIME = timedelta(seconds=30)
HOLD = timedelta(minutes=10)

PATIENT = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                call: {delta: 0.25}, put: {delta: -0.25}}
    timing: {check_interval: 5s, max_trades_per_day: 1}
    execution:
      open:
        mode: limit
        phases:
          - {duration: 3m, requote_interval: 30s, price: fair}
          - {duration: 1m, requote_interval: 10s, price: aggressive, offset_pct: 2}
      close: {profile: aggressive_limit}
    exits:
      - max_hold: 10m
    """


@pytest.fixture
def stopped(tmp_path):
    """One trade OPEN (held 10 min) and one still OPENING when the stop comes."""
    (micro,) = shipped("micro_strangle")
    held = replace(micro, exits=(MaxHoldExit(HOLD),))
    patient = strategy_from_yaml(tmp_path, "patient", PATIENT)
    scenario = Scenario.start(tmp_path, [held, patient])

    def stop_when_both_are_in_flight(_report) -> None:
        if scenario.in_stage(TradeStage.OPEN) and scenario.in_stage(TradeStage.OPENING):
            scenario.service.request_stop()

    scenario.service.run(1.0, on_tick=stop_when_both_are_in_flight,
                         until=scenario.now + timedelta(minutes=2))
    assert scenario.service.stop_requested
    scenario.before = scenario.trades()  # type: ignore[attr-defined]
    scenario.held_before = scenario.net_positions()  # type: ignore[attr-defined]
    scenario.cancelled = scenario.service.cancel_working_orders()  # type: ignore[attr-defined]
    yield scenario
    scenario.close()


def test_the_stop_cancels_working_orders_and_leaves_every_trade_as_it_was(stopped):
    assert stopped.cancelled == 2  # the opening trade's two resting orders
    assert stopped.venue.open_orders() == []
    assert stopped.runtime.store.live_orders() == []
    assert stopped.trades() == stopped.before
    assert {t.stage for t in stopped.before} == {TradeStage.OPEN, TradeStage.OPENING}
    assert all(t.exit_reason is None for t in stopped.before)
    assert stopped.net_positions() == stopped.held_before != {}


def test_after_a_restart_the_same_trades_are_there_in_the_same_stages(stopped):
    stopped.clock.advance(DOWNTIME)
    runtime = stopped.restart()
    assert stopped.trades() == stopped.before
    assert sorted(runtime.reconciliation.lines) == sorted(
        f"reconcile: resumed trade {t.trade_id} of {t.strategy} ({t.stage.value})"
        for t in stopped.before)
    stopped.run_for(timedelta(seconds=5))  # A5: no restart begins with an unrequested close
    assert all(t.exit_reason is None for t in stopped.trades())
    assert TradeStage.PENDING_CLOSE not in {t.stage for t in stopped.trades()}


def test_the_open_trade_exits_by_its_own_rule_and_the_interrupted_open_resumes(stopped):
    stopped.clock.advance(DOWNTIME)
    stopped.restart()
    stopped.run_for(HOLD + timedelta(minutes=1))
    held, patient = (next(t for t in stopped.trades(name) if t.trade_id in
                          {b.trade_id for b in stopped.before})
                     for name in ("micro_strangle", "patient"))
    assert held.stage is TradeStage.CLOSED
    assert held.exit_reason == "max_hold"
    held_for = (held.closed_at - held.opened_at).total_seconds()
    assert held_for == pytest.approx(HOLD.total_seconds(), abs=2)
    assert patient.stage is TradeStage.OPEN
    assert [t.trade_id for t in stopped.trades("patient")] == [patient.trade_id]  # A1
    assert stopped.alerts() == []  # no "not confirmed cancelled" page for the stop's cancels
    assert stopped.strategy_errors() == []


def test_a_cancel_of_an_order_the_ledger_holds_as_final_reports_its_final_state(stopped):
    """The dispatcher tells a requester that missed it how a cancelled order ended."""
    (row, *_) = [o for t in stopped.before for o in stopped.orders_of(t.trade_id)
                 if o.cancel_reason == "shutdown"]
    events = stopped.runtime.dispatcher.execute(
        [CancelOrder(row.trade_id, row.client_order_id, row.order_id, "again")])
    (event,) = events
    assert isinstance(event, OrderUpdated)
    assert event.order.client_order_id == row.client_order_id
    assert event.order.status.is_final
