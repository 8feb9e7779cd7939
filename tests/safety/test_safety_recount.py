"""Today's trades are recounted from the exchange when the store lost them (issue 7).

The runner's client order ids carry the strategy and the trade (`domain.client_ids`), so
after a blank start the fills of the UTC day say how many trades each strategy made. The
daily limits honour them, and the recount is stored so a later restart still does.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from runner.domain.client_ids import read_tags, strategy_tag
from runner.domain.orders import OrderRequest, Side
from runner.domain.trades import TradeStage
from runner.reconcile.recount import recount_today
from runner.service.store_guard import POSITIONS_KEY
from tests.safety.test_safety_store_truth import ONCE_A_DAY, restart_over_damage, zero_bytes
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml

ROUND_TRIP = ONCE_A_DAY.replace("max_hold: 2h", "max_hold: 10s")
OTHER = ONCE_A_DAY.replace("delta: 0.15", "delta: 0.25").replace("delta: -0.15",
                                                                  "delta: -0.25")


def traded_and_closed(tmp_path: Path) -> Scenario:
    """One round trip of "once" (one trade a day), flat again, then the store is lost."""
    spec = strategy_from_yaml(tmp_path, "once", ROUND_TRIP)
    scenario = Scenario.start(tmp_path, [spec])
    scenario.run_for(timedelta(minutes=1))
    assert [t.stage for t in scenario.trades()] == [TradeStage.CLOSED]
    assert scenario.net_positions() == {}
    restart_over_damage(scenario, zero_bytes)
    return scenario


def test_the_runners_client_order_ids_name_the_strategy_and_whether_they_open(
        tmp_path: Path) -> None:
    scenario = traded_and_closed(tmp_path)
    fills = scenario.venue.fills(scenario.now - timedelta(hours=1))
    orders = [scenario.venue.get_order(order_id=fill.order_id) for fill in fills]
    read = [read_tags(order.client_order_id) for order in orders if order]
    assert {t.strategy_tag for t in read} == {strategy_tag("once")}
    assert sorted(t.opening for t in read) == [False, False, True, True]
    assert len({t.trade_tag for t in read}) == 1
    scenario.close()


def test_a_strategy_that_traded_today_opens_nothing_more_after_its_store_was_lost(
        tmp_path: Path) -> None:
    scenario = traded_and_closed(tmp_path)
    scenario.run_for(timedelta(minutes=2))

    assert scenario.trades() == []  # the account is flat, yet its one trade is spent
    assert not scenario.service.attention.is_open(POSITIONS_KEY)
    assert any(kind == "store_recount" and "once made 1 trade" in str(data["text"])
               for kind, data in scenario.events)
    state = scenario.service._book.strategy_state(
        scenario.specs[0], scenario.launch, scenario.now, None)
    assert (state.trades_today, state.attempts_today) == (1, 1)
    scenario.close()


def test_the_recount_survives_a_restart_and_other_strategies_still_trade(
        tmp_path: Path) -> None:
    scenario = traded_and_closed(tmp_path)
    scenario.run_for(timedelta(seconds=5))
    other = strategy_from_yaml(tmp_path, "other", OTHER)
    scenario.restart([*scenario.specs, other])  # an ordinary restart: the store is intact
    scenario.run_for(timedelta(minutes=1))

    assert {t.strategy for t in scenario.trades()} == {"other"}
    scenario.close()


def test_fills_of_orders_not_placed_by_the_runner_are_reported_not_counted(
        tmp_path: Path) -> None:
    scenario = traded_and_closed(tmp_path)
    symbol = scenario.venue.fills(scenario.now - timedelta(hours=1))[0].symbol
    book = scenario.venue.orderbook(symbol, fresh=True)
    scenario.venue.place_order(OrderRequest(symbol, Side.BUY, Decimal("0.01"),
                                            book.best_ask, 4242))

    result = recount_today(scenario.venue, ["once"], scenario.now)

    assert [(r.strategy, r.trades) for r in result.recounts] == [("once", 1)]
    assert result.unattributed >= 1
    assert any("could not be attributed" in line for line in result.lines())
    scenario.close()
