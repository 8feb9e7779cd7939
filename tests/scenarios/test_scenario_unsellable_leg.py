"""B1 through the service: a long strangle whose put has no bids when it must close.

Live, 72 close retries of a straddle with a bidless put re-sold the call each time and
built a 0.64 BTC naked short. Here, with the real service, dispatcher and simulator:
no position is net short at any tick; the call closes (best effort per leg, B6) with a
reduce-only order; the put is retried every tick; after the bounded close rounds the
close is marked exhausted (naming what is still held), one page goes out, and it goes on
retrying once a minute, never abandoned (runner.execution.retry, issue 7 item 8). When
the bids come back, the put closes and the trade is CLOSED.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.commands import OrderPurpose
from runner.domain.instruments import parse_symbol
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml

STRANGLE = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                call: {delta: 0.15}, put: {delta: -0.15}}
    timing: {check_interval: 5s, max_trades_per_day: 1}
    execution:
      open: {profile: aggressive_limit}
      close: {mode: limit, fill_timeout: 10s, requote_rounds: 3, aggressive_buffer_pct: 2}
    exits:
      - max_hold: 10s
    """
ROUNDS_SPAN = timedelta(seconds=4 * 10)  # the first round and 3 requotes of 10 s


class NoShorts:
    """A per-tick probe: every net position the venue reports, at every tick."""

    def __init__(self) -> None:
        self.ticks = 0
        self.shorts: list[tuple[object, str, Decimal]] = []

    def __call__(self, scenario: Scenario, _report: object) -> None:
        self.ticks += 1
        self.shorts.extend((scenario.now, symbol, qty)
                           for symbol, qty in scenario.net_positions().items() if qty < 0)


@pytest.fixture
def bidless_put(tmp_path):
    """The strangle is OPEN; then every bid of its put disappears."""
    scenario = Scenario.start(tmp_path, [strategy_from_yaml(tmp_path, "strangle", STRANGLE)])
    assert scenario.run_until(scenario.now + timedelta(minutes=1),
                              stop=lambda s: bool(s.in_stage(TradeStage.OPEN)))
    (trade,) = scenario.trades()
    put = next(leg.symbol for leg in trade.legs if parse_symbol(leg.symbol).kind.letter == "P")
    scenario.venue.empty_book_side(put, Side.BUY)
    yield scenario, trade.trade_id, put
    scenario.close()


def test_the_call_closes_the_put_is_retried_and_the_close_is_never_abandoned(bidless_put):
    scenario, trade_id, put = bidless_put
    probe = NoShorts()
    scenario.run_for(timedelta(minutes=3), probe=probe)
    assert probe.ticks >= 180
    assert probe.shorts == []  # at no moment is anything net short
    trade = scenario.trade(trade_id)
    assert trade.stage in (TradeStage.PENDING_CLOSE, TradeStage.CLOSING)  # still managed
    assert trade.exit_reason == "max_hold"
    call = next(leg for leg in trade.legs if leg.symbol != put)
    held_put = next(leg for leg in trade.legs if leg.symbol == put)
    assert call.open_qty == 0  # the call was closed ...
    assert held_put.open_qty == Decimal("0.01")  # ... the put is still held, and said so
    assert scenario.net_positions() == {put: Decimal("0.01")}
    closes = [o for o in scenario.orders_of(trade_id) if o.key.purpose is OrderPurpose.CLOSE]
    assert closes
    assert all(o.request.reduce_only and o.request.side is Side.SELL for o in closes)
    assert all(o.request.symbol != put for o in closes)  # never priced without a bid
    (exhausted,) = [t for t in trade.transitions if "used its budget" in t.reason]
    assert put in exhausted.reason
    closing = next(t.at for t in trade.transitions if t.to_stage is TradeStage.CLOSING)
    assert exhausted.at - closing <= ROUNDS_SPAN + timedelta(seconds=5)  # bounded rounds
    pages = [m for m in scenario.pager.sent if trade_id in m.key]
    assert len(pages) == 1  # one page for the trade, not one per retry
    assert ("concern_raised", f"failed_close.{trade_id}") in [
        (k, d.get("key")) for k, d in scenario.events]


def test_when_the_bids_return_in_time_the_put_closes_and_the_trade_is_closed(bidless_put):
    scenario, trade_id, put = bidless_put
    probe = NoShorts()
    scenario.run_for(timedelta(seconds=25), probe=probe)  # the exit fired; the put waits
    assert scenario.trade(trade_id).stage is TradeStage.CLOSING
    scenario.venue.restore_book_side(put, Side.BUY)
    scenario.run_for(timedelta(minutes=1), probe=probe)
    assert probe.shorts == []
    trade = scenario.trade(trade_id)
    assert trade.stage is TradeStage.CLOSED
    assert trade.exit_reason == "max_hold"
    assert all(leg.open_qty == 0 and leg.exit_price is not None for leg in trade.legs)
    assert scenario.net_positions() == {}
    assert scenario.alerts() == []


def test_the_exhausted_close_pages_through_the_alert_channel(bidless_put):
    scenario, trade_id, _put = bidless_put
    scenario.run_for(timedelta(minutes=2))
    assert scenario.trade(trade_id).stage.is_active
    pages = [m.render() for m in scenario.pager.sent]
    assert any(trade_id in page and "still holds legs" in page for page in pages)
