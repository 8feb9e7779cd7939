"""G1/G2: a trade held through the 08:00 UTC expiry is settled, not closed by orders.

Live, expiry was not modelled: restarts crash-looped on "position missing" and ghost
trades retried their closes forever. Here a strangle on the day's 08:00 expiry, whose
only exit (a 2 h hold) cannot fire first, is CLOSED at 08:00 with reason `expiry`, its
legs booked at intrinsic value against the venue's delivery price (G2), no order is sent
for it after 08:00, and a restart after the expiry starts cleanly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.instruments import Underlying, parse_symbol
from runner.domain.trades import TradeStage
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml

START = datetime(2026, 3, 2, 7, 50, tzinfo=UTC)
EXPIRY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

HELD_TO_EXPIRY = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                call: {delta: 0.3}, put: {delta: -0.3}}
    timing: {check_interval: 5s, max_trades_per_day: 1}
    execution:
      open: {profile: aggressive_limit}
      close: {profile: aggressive_limit}
    exits:
      - max_hold: 2h
    """


@pytest.fixture
def through_expiry(tmp_path):
    spec = strategy_from_yaml(tmp_path, "held_to_expiry", HELD_TO_EXPIRY)
    scenario = Scenario.start(tmp_path, [spec], at=START)
    scenario.run_until(EXPIRY + timedelta(minutes=5))
    yield scenario
    scenario.close()


def test_a_trade_held_through_expiry_is_closed_with_reason_expiry_at_0800(through_expiry):
    (trade,) = through_expiry.trades()
    assert all(parse_symbol(leg.symbol).expiry == EXPIRY for leg in trade.legs)
    assert trade.opened_at < EXPIRY
    assert trade.stage is TradeStage.CLOSED
    assert trade.exit_reason == "expiry"
    assert trade.closed_at == EXPIRY
    assert all(leg.open_qty == 0 for leg in trade.legs)
    assert through_expiry.net_positions() == {}  # the venue settled the positions too
    assert through_expiry.alerts() == []
    assert through_expiry.strategy_errors() == []


def test_no_order_is_sent_for_the_trade_at_or_after_the_expiry(through_expiry):
    (trade,) = through_expiry.trades()
    orders = through_expiry.orders_of(trade.trade_id)
    assert len(orders) == 2  # the two opening orders, nothing to close
    assert all(order.created_at < EXPIRY for order in orders)
    placed_after = [r for r in through_expiry.venue.order_records() if r.created_at >= EXPIRY]
    assert placed_after == []


def test_the_legs_are_booked_at_intrinsic_value_of_the_delivery_price(through_expiry):
    """G2, I6: settlement at intrinsic value, never at 0 whatever the moneyness."""
    (trade,) = through_expiry.trades()
    (delivery,) = [d for d in through_expiry.venue.delivery_prices(Underlying.BTC)
                   if d.expiry == EXPIRY]
    for leg in trade.legs:
        parts = parse_symbol(leg.symbol)
        intrinsic = (max(delivery.price - parts.strike, Decimal(0)) if parts.kind.letter == "C"
                     else max(parts.strike - delivery.price, Decimal(0)))
        assert leg.exit_price == intrinsic
    assert any(leg.exit_price > 0 for leg in trade.legs)  # one side finished in the money


def test_a_restart_after_the_expiry_starts_cleanly(through_expiry):
    (before,) = through_expiry.trades()
    runtime = through_expiry.restart()
    assert not runtime.reconciliation.needs_attention
    through_expiry.run_for(timedelta(minutes=2))
    assert through_expiry.trades() == [before]
    assert through_expiry.failed_ticks == 0
    assert through_expiry.strategy_errors() == []
    assert through_expiry.alerts() == []
    assert len(through_expiry.orders_of(before.trade_id)) == 2


def test_settlement_uses_the_delivery_price_even_when_no_tick_lands_on_0800(tmp_path):
    """G2: with 2 s ticks on odd seconds the first tick after expiry is 08:00:01."""
    spec = strategy_from_yaml(tmp_path, "held_to_expiry", HELD_TO_EXPIRY)
    scenario = Scenario.start(tmp_path, [spec], at=START + timedelta(seconds=1))
    scenario.run_until(EXPIRY + timedelta(minutes=1), timedelta(seconds=2))
    (trade,) = scenario.trades()
    assert trade.exit_reason == "expiry"
    (delivery,) = [d for d in scenario.venue.delivery_prices(Underlying.BTC)
                   if d.expiry == EXPIRY]
    call = next(leg for leg in trade.legs if parse_symbol(leg.symbol).kind.letter == "C")
    assert call.exit_price == max(delivery.price - parse_symbol(call.symbol).strike, 0)
    scenario.close()
