"""Lesson D2 in reconciliation: an order just placed is not "missing" (in-process, simulated
clock, no kill -9: the same on every platform).

Live, reconciliation warned "stale order" about orders placed a moment before: the
exchange had not propagated them yet. Here the exchange shows a new order in its reads
only 10 s after taking it, and reconciliation runs at once. Orders younger than the grace
period (`DispatchLimits.missing_grace`, 30 s) and orders whose outcome is not confirmed
yet are skipped: no warning, no write-off, nothing cancelled. With the grace set to 0,
both tests fail (the working order is written off as unknown or never placed).
"""

from __future__ import annotations

from decimal import Decimal

from runner.dispatch import Dispatcher
from runner.domain.commands import OrderAccepted, OrderOutcomeUnknown
from runner.domain.ledger import LedgerStatus
from runner.domain.orders import OrderRequest, Side
from runner.domain.trades import TradeLeg, TradeStage
from runner.exchange.errors import OutcomeUnknown
from runner.reconcile import reconcile
from tests.dispatch.helpers_dispatch import (
    SlowToShowExchange,
    liquid_call,
    make_venue,
    resting_buy_price,
)
from tests.store.helpers_store import make_trade, open_fresh, place

SHOWN_AFTER_S = 10


class SlowAndSilent(SlowToShowExchange):
    """Takes the order but loses the answer (an unconfirmed order, D3), and shows it late."""

    def place_order(self, request: OrderRequest) -> int:
        super().place_order(request)
        raise OutcomeUnknown("no answer (lost on the way back)", endpoint="place_order")


def order_placed_just_now(tmp_path, clock, exchange_type):
    venue = make_venue(clock)
    store = open_fresh(tmp_path, clock)
    quote = liquid_call(venue)
    trade = make_trade("t1", legs=(TradeLeg(0, quote.symbol, Side.BUY, Decimal("0.1")),))
    store.save_trade(trade.moved_to(TradeStage.OPENING, "orders placed", clock.now()))
    exchange = exchange_type(venue, clock, SHOWN_AFTER_S)
    command = place(symbol=quote.symbol, qty="0.1", price=str(resting_buy_price(quote)))
    events = Dispatcher(exchange, store, clock).execute([command])
    return venue, store, exchange, command.request.client_order_id, events


def assert_reconciled_quietly(report, store, venue, cid, status: LedgerStatus) -> None:
    assert report.complete
    assert not report.needs_attention, report.lines
    assert not any("warn" in line.lower() or "missing" in line.lower() or "orphan" in line
                   for line in report.lines), report.lines
    assert report.cancelled == ()
    row = store.find_by_client_order_id(cid)
    assert row is not None
    assert row.status is status, (row.status, row.error_message)
    assert [o.client_order_id for o in venue.open_orders()] == [cid]  # still working


def test_D2_an_order_placed_and_reconciled_at_once_is_not_reported_missing(tmp_path,
                                                                         clock) -> None:
    """D2: acknowledged, not yet in the exchange's reads, younger than the grace."""
    venue, store, exchange, cid, events = order_placed_just_now(tmp_path, clock,
                                                               SlowToShowExchange)
    assert [type(e) for e in events] == [OrderAccepted]
    report = reconcile(store, exchange, clock)
    assert_reconciled_quietly(report, store, venue, cid, LedgerStatus.ACCEPTED)


def test_D2_an_unconfirmed_order_reconciled_at_once_is_not_written_off(tmp_path,
                                                                     clock) -> None:
    """D2 with D3: the create answer was lost; reconciliation right after must not call
    the order "never placed" while the exchange is still propagating it."""
    venue, store, exchange, cid, events = order_placed_just_now(tmp_path, clock, SlowAndSilent)
    assert events == [OrderOutcomeUnknown(cid)]
    report = reconcile(store, exchange, clock)
    assert_reconciled_quietly(report, store, venue, cid, LedgerStatus.UNKNOWN)
