"""R-C4 / G1: a close that used up its budget still holds a leg and keeps retrying; when
that leg expires, the exchange settles it, the store books it as settled too, and the
trade is CLOSED (its failed-close concern ends)."""

from __future__ import annotations

from datetime import timedelta

from runner.domain.instruments import parse_symbol
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml
from tests.scenarios.test_scenario_unsellable_leg import STRANGLE


def test_expired_legs_of_a_failed_trade_are_booked_at_the_delivery_price(tmp_path) -> None:
    scenario = Scenario.start(tmp_path, [strategy_from_yaml(tmp_path, "strangle", STRANGLE)])
    scenario.run_until(scenario.now + timedelta(minutes=1),
                       stop=lambda s: bool(s.in_stage(TradeStage.OPEN)))
    (trade,) = scenario.trades()
    put = next(leg for leg in trade.legs if parse_symbol(leg.symbol).kind.letter == "P")
    scenario.venue.empty_book_side(put.symbol, Side.BUY)
    scenario.run_for(timedelta(minutes=3))
    exhausted = scenario.trade(trade.trade_id)
    assert exhausted.stage.is_active  # retried, never abandoned (issue 7 item 8)
    assert exhausted.legs[put.index].open_qty == put.qty  # the put is still held
    assert scenario.service.attention.is_open(f"failed_close.{trade.trade_id}")

    expiry = parse_symbol(put.symbol).expiry
    scenario.run_until(expiry + timedelta(minutes=2), step=timedelta(minutes=5))
    scenario.run_for(timedelta(seconds=3))  # ticks after 08:00, when the price is out
    settled = scenario.trade(trade.trade_id)
    assert settled.stage is TradeStage.CLOSED
    assert settled.is_flat
    delivery = scenario.venue.delivery_price(parse_symbol(put.symbol).underlying, expiry)
    strike = parse_symbol(put.symbol).strike
    assert settled.legs[put.index].exit_price == max(strike - delivery, 0)
    assert put.symbol not in scenario.net_positions()
    assert not scenario.service.attention.is_open(f"failed_close.{trade.trade_id}")
