"""rfq_endurance end to end: three scheduled cycles through the real service and simulator.

Issue 4 "Done means": the three cycles run on schedule via RFQ (cycle k opens in
[T + 1 min + 15k min, + 5 min) and closes at its open start + 10 min, reason
end_of_cycle), and when no acceptable quote comes (makers silent, or quoting worse
than the book) the RFQ times out and the trade falls back to limit orders, still
closing each cycle (lessons B13: RFQ is never the only path; B14: a quote worse than
the book is never accepted at min_improvement 0). `trade.execution` records the route.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.commands import OrderPurpose
from runner.domain.instruments import parse_symbol
from runner.domain.ledger import RfqLedgerState
from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeStage
from tests.scenarios.helpers_scenarios import MONDAY_10, Scenario, shipped

T = MONDAY_10
RFQ_TIMEOUT = timedelta(minutes=5)
CLOSE_RFQ_TIMEOUT = timedelta(seconds=30)  # profile rfq_fast_close (lessons B13)
RUN = timedelta(minutes=48)  # the last close (T+41m) plus a timed-out close RFQ and fills


def _window(cycle: int) -> tuple:
    start = T + timedelta(minutes=1 + 15 * cycle)
    return start, start + timedelta(minutes=5), start + timedelta(minutes=10)


def _close_requested_at(trade: Trade):
    (moved,) = [t for t in trade.transitions if t.to_stage is TradeStage.PENDING_CLOSE]
    return moved


def _run(tmp_path, **makers) -> Scenario:
    scenario = Scenario.start(tmp_path, shipped("rfq_endurance"), at=T)
    if makers:
        scenario.venue.set_maker_behaviour(**makers)
    scenario.run_for(RUN)
    return scenario


@pytest.fixture(scope="module")
def by_rfq(tmp_path_factory):
    scenario = _run(tmp_path_factory.mktemp("rfq"))
    yield scenario
    scenario.close()


@pytest.fixture(scope="module", params=["makers_silent", "quotes_worse_than_book"])
def by_fallback(request, tmp_path_factory):
    makers = ({"enabled": False} if request.param == "makers_silent"
              else {"book_offset_pct": Decimal(-5)})
    scenario = _run(tmp_path_factory.mktemp(request.param), **makers)
    yield request.param, scenario
    scenario.close()


def _assert_three_cycles_on_schedule(scenario: Scenario) -> list[Trade]:
    trades = scenario.trades("rfq_endurance")
    assert [t.cycle for t in trades] == [0, 1, 2]
    for trade in trades:
        open_start, open_end, close_at = _window(trade.cycle)
        assert open_start <= trade.created_at < open_end
        assert trade.stage is TradeStage.CLOSED
        assert trade.exit_reason == "end_of_cycle"
        moved = _close_requested_at(trade)
        assert moved.at == close_at  # the scheduled close fires on its tick
        assert moved.reason.startswith("end_of_cycle")
    assert scenario.net_positions() == {}
    assert scenario.failed_ticks == 0
    assert scenario.strategy_errors() == []
    return trades


def test_three_cycles_open_in_their_windows_and_close_at_their_scheduled_time_by_rfq(by_rfq):
    for trade in _assert_three_cycles_on_schedule(by_rfq):
        _, _, close_at = _window(trade.cycle)
        assert trade.execution == "rfq"
        assert trade.opened_at - trade.created_at < RFQ_TIMEOUT
        assert close_at <= trade.closed_at < close_at + timedelta(minutes=1)
        assert all(t.reason.startswith(("rfq", "close by rfq", "entry", "end_of_cycle"))
                   for t in trade.transitions)


def test_each_cycle_buys_a_half_lot_005_delta_strangle_two_days_out(by_rfq):
    for trade in by_rfq.trades("rfq_endurance"):
        call, put = sorted(trade.legs, key=lambda leg: parse_symbol(leg.symbol).kind.letter)
        assert parse_symbol(call.symbol).kind.letter == "C"
        assert parse_symbol(put.symbol).kind.letter == "P"
        assert {call.side, put.side} == {Side.BUY}
        assert call.filled_qty == put.filled_qty == Decimal("0.5")
        assert call.delta_at_entry == pytest.approx(0.05, abs=0.03)
        assert put.delta_at_entry == pytest.approx(-0.05, abs=0.03)
        expiry = parse_symbol(call.symbol).expiry
        assert expiry == parse_symbol(put.symbol).expiry
        assert (expiry.date() - trade.created_at.date()).days == 2


def test_both_the_open_and_the_close_are_block_trades_of_accepted_quotes(by_rfq):
    for trade in by_rfq.trades("rfq_endurance"):
        records = by_rfq.runtime.store.rfqs_for_trade(trade.trade_id)
        filled = {r.purpose for r in records if r.state is RfqLedgerState.FILLED}
        assert filled == {OrderPurpose.OPEN, OrderPurpose.CLOSE}
        assert by_rfq.orders_of(trade.trade_id) == []  # no limit order was needed


def test_without_an_acceptable_quote_the_rfq_times_out_and_limit_orders_open_and_close(
        by_fallback):
    """B13/B14: silent makers, or quotes 5 % worse than the book: limit fallback."""
    case, by_fallback = by_fallback
    for trade in _assert_three_cycles_on_schedule(by_fallback):
        _, _, close_at = _window(trade.cycle)
        assert trade.execution == "limit"
        assert trade.opened_at >= trade.created_at + RFQ_TIMEOUT
        assert close_at + CLOSE_RFQ_TIMEOUT <= trade.closed_at < close_at + \
            CLOSE_RFQ_TIMEOUT + timedelta(minutes=1)
        records = by_fallback.runtime.store.rfqs_for_trade(trade.trade_id)
        assert {r.purpose for r in records} == {OrderPurpose.OPEN, OrderPurpose.CLOSE}
        assert all(r.state is RfqLedgerState.CANCELLED for r in records)
        assert all(r.block_trade is None for r in records)
        quoted = [by_fallback.venue.rfq_quotes(r.request_id) for r in records]
        assert all(quoted) if case == "quotes_worse_than_book" else not any(quoted)
        orders = by_fallback.orders_of(trade.trade_id)
        assert {o.key.purpose for o in orders} == {OrderPurpose.OPEN, OrderPurpose.CLOSE}
        assert all(o.request.reduce_only for o in orders if o.key.purpose is OrderPurpose.CLOSE)
