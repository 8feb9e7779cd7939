"""E4/E5 through the service: fill prices at OPEN; the exit reason is the rule that fired.

Live, profitable closes were labelled "expiry" because the reason was guessed after the
fact (E5), and "trade opened" reported an entry cost of 0 (E4). Here the reason is
recorded on the trade when the rule fires, before any close order, and carried to the
CLOSED record; when several rules fire on the same tick, the first in the file wins.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from runner.domain.commands import OrderPurpose
from runner.domain.trades import TradeStage
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml

BASE = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                call: {delta: 0.15}, put: {delta: -0.15}}
    timing: {check_interval: 1s, max_trades_per_day: 1}
    execution:
      open: {profile: aggressive_limit}
      close: {profile: aggressive_limit}
    exits:
"""
# A long strangle bought at the ask is worth its bids: about -5 % on the executable basis
# at once, so this stop-loss fires at the first check after the fill (market rules are
# evaluated at the check interval, 1 s here: every tick, so the two rules can tie).
STOP = "      - max_loss: {pct: 3, basis: executable}\n"
HOLD_1S = "      - max_hold: 1s\n"
HOLD_1H = "      - max_hold: 1h\n"


def _round_trip(tmp_path, exits: str):
    spec = strategy_from_yaml(tmp_path, "exits", BASE + exits)
    scenario = Scenario.start(tmp_path, [spec])
    assert scenario.run_until(scenario.now + timedelta(minutes=2),
                              stop=lambda s: bool(s.in_stage(TradeStage.CLOSED)))
    (trade,) = scenario.trades()
    return scenario, trade


@pytest.mark.parametrize(("exits", "reason"), [
    (STOP + HOLD_1H, "max_loss"),
    (HOLD_1H + STOP, "max_loss"),
    (STOP + HOLD_1S, "max_loss"),
    (HOLD_1S + STOP, "max_hold"),
], ids=["stop_then_hold", "hold_then_stop", "both_fire_stop_first", "both_fire_hold_first"])
def test_the_close_record_carries_the_rule_that_fired_first(tmp_path, exits, reason):
    """E5: the stop-loss is recorded as such; on a tie the first rule in the file wins."""
    scenario, trade = _round_trip(tmp_path, exits)
    assert trade.exit_reason == reason
    (fired,) = [t for t in trade.transitions if t.to_stage is TradeStage.PENDING_CLOSE]
    assert fired.reason.startswith(f"{reason}:")
    assert fired.at - trade.opened_at <= timedelta(seconds=2)
    scenario.close()


def test_the_reason_is_on_the_trade_when_the_rule_fires_before_any_close_order(tmp_path):
    scenario, trade = _round_trip(tmp_path, STOP + HOLD_1H)
    stored = {stage: t for stage, t in scenario.stage_changes}
    assert stored["closing"].exit_reason == "max_loss"
    closes = [o for o in scenario.orders_of(trade.trade_id) if o.request.reduce_only]
    assert closes
    assert all(o.key.reason == "max_loss" for o in closes)  # the key carries it (B4)
    assert stored["closed"].exit_reason == "max_loss"
    scenario.close()


def test_the_record_at_open_has_the_fill_prices_and_the_entry_cost(tmp_path):
    """E4: the OPEN transition's record has every leg's fill price; cost is not 0."""
    scenario, trade = _round_trip(tmp_path, HOLD_1S)
    opened = next(t for stage, t in scenario.stage_changes if stage == "open")
    assert all(leg.entry_price is not None for leg in opened.legs)
    assert all(leg.filled_qty == leg.qty for leg in opened.legs)
    assert opened.entry_cost() == trade.entry_cost() > 0
    fills = scenario.runtime.store.fills_for_trade(trade.trade_id)
    paid = sum(f.price * f.qty for f in fills if f.side.value == "buy")
    assert opened.entry_cost() == paid
    scenario.close()


TARGETS = ("      - profit_target: {pct: 80, basis: mid}\n"
           "      - max_loss: {pct: 80, basis: fair}\n"
           "      - max_hold: 20s\n")


def test_b5_take_profit_and_stop_loss_are_evaluated_conditions_never_resting_orders(tmp_path):
    """B5: with a take-profit and a stop-loss declared, nothing of the trade rests at the
    exchange while it is OPEN (no resting TP order to collide with an SL, B4); its only
    close orders are the ones placed on the tick a rule fired (here max_hold), with that
    rule as their reason. Order purposes are open, close and unwind: there is no resting
    take-profit purpose."""
    spec = strategy_from_yaml(tmp_path, "targets", BASE + TARGETS)
    scenario = Scenario.start(tmp_path, [spec])
    resting_while_open: list[int] = []
    open_ticks: list[object] = []

    def look(s: Scenario, _report: object) -> None:
        for trade in s.in_stage(TradeStage.OPEN):
            open_ticks.append(s.now)
            ours = {o.client_order_id for o in s.orders_of(trade.trade_id)}
            resting_while_open.extend(o.client_order_id for o in s.venue.open_orders()
                                      if o.client_order_id in ours)

    assert scenario.run_until(scenario.now + timedelta(minutes=2), probe=look,
                              stop=lambda s: bool(s.in_stage(TradeStage.CLOSED)))
    (trade,) = scenario.trades()
    assert trade.exit_reason == "max_hold"
    assert len(open_ticks) >= 15  # looked at every tick of the 20 s hold
    assert resting_while_open == []
    orders = scenario.orders_of(trade.trade_id)
    assert {o.key.purpose.value for o in orders} == {"open", "close"}
    fired = next(t.at for t in trade.transitions if t.to_stage is TradeStage.PENDING_CLOSE)
    closes = [o for o in orders if o.key.purpose.value == "close"]
    assert all(o.key.reason == "max_hold" for o in closes)
    assert min(o.created_at for o in closes) >= fired
    assert {p.value for p in OrderPurpose} == {"open", "close", "unwind"}
    scenario.close()
