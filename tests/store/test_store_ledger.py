"""The order and RFQ ledgers, fills and the audit log (lessons B2, B7, D3, I2)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.commands import CreateRfq, OrderPurpose
from runner.domain.ledger import (
    LedgerStatus,
    LegExecution,
    RfqLedgerState,
    credit_executions,
    executions_from_orders,
    executions_from_rfq,
)
from runner.domain.orders import Fill, Order, OrderStatus, Side
from runner.domain.rfq import BlockTrade, BlockTradeLeg, Rfq, RfqLeg, RfqState
from tests.store.helpers_store import CALL, PUT, START, make_trade, open_fresh, place


def exchange_view(command, filled="0", status=OrderStatus.NEW, fee="0", avg="0",
                  order_id=555):
    request = command.request
    return Order(order_id=order_id, client_order_id=request.client_order_id,
                 symbol=request.symbol, side=request.side, qty=request.qty,
                 filled_qty=Decimal(filled), price=request.price, avg_price=Decimal(avg),
                 status=status, reduce_only=request.reduce_only, fee=Decimal(fee))


@pytest.fixture
def store(tmp_path, clock):
    opened = open_fresh(tmp_path, clock)
    opened.save_trade(make_trade("t1"))
    return opened


def test_a_ledger_row_round_trips_every_field(store, tmp_path, clock) -> None:
    command = place(purpose=OrderPurpose.CLOSE, reason="stop_loss", attempt=3, side=Side.SELL,
                    qty="0.25", price="101.5", reduce_only=True)
    cid = command.request.client_order_id
    store.record_intent(command)
    clock.advance(timedelta(seconds=1))
    store.mark_sent(cid)
    store.mark_accepted(cid, 1983131927527428096)
    store.update_from_exchange(exchange_view(command, "0.1", OrderStatus.PARTIALLY_FILLED,
                                             "0.02", "101.5", 1983131927527428096))
    store.mark_cancel_requested(cid, "requote")
    store.close()

    row = open_fresh(tmp_path, clock).find_by_client_order_id(cid)
    assert row is not None
    assert row.key == command.key
    assert row.request == command.request
    assert (row.status, row.send_attempts, row.order_id) == \
        (LedgerStatus.ACCEPTED, 1, 1983131927527428096)
    assert (row.filled_qty, row.avg_price, row.fee) == \
        (Decimal("0.1"), Decimal("101.5"), Decimal("0.02"))
    assert row.exchange_status is OrderStatus.PARTIALLY_FILLED
    assert row.created_at == START
    assert row.sent_at == START + timedelta(seconds=1)
    assert (row.cancel_requested_at, row.cancel_reason) == (clock.now(), "requote")


def test_recording_the_same_intent_twice_returns_the_first_row(store) -> None:
    """B2: one row per client order id."""
    command = place()
    first = store.record_intent(command)
    store.mark_sent(command.request.client_order_id)
    again = store.record_intent(command)
    assert again.client_order_id == first.client_order_id
    assert again.status is LedgerStatus.SENT
    assert len(store.all_orders()) == 1


def test_a_stale_exchange_read_never_undoes_a_fill_or_revives_a_final_order(store) -> None:
    """B7: the cumulative fill only grows; a FINAL order stays final."""
    command = place()
    store.record_intent(command)
    store.update_from_exchange(exchange_view(command, "0.5", OrderStatus.FILLED, avg="100"))
    _, changed = store.update_from_exchange(exchange_view(command, "0.2",
                                                          OrderStatus.PARTIALLY_FILLED))
    row = store.find_by_client_order_id(command.request.client_order_id)
    assert row is not None
    assert (row.status, row.filled_qty, row.exchange_status) == \
        (LedgerStatus.FINAL, Decimal("0.5"), OrderStatus.FILLED)
    assert changed is False


def test_live_orders_filter_by_trade_and_purpose(store) -> None:
    store.save_trade(make_trade("t2"))
    opening, closing, other = place(), place(purpose=OrderPurpose.CLOSE), place("t2")
    for command in (opening, closing, other):
        store.record_intent(command)
    store.mark_rejected(other.request.client_order_id, 10558, "too small")
    assert {o.client_order_id for o in store.live_orders()} == \
        {opening.request.client_order_id, closing.request.client_order_id}
    assert [o.key.purpose for o in store.live_orders("t1", OrderPurpose.CLOSE)] == \
        [OrderPurpose.CLOSE]
    assert store.live_orders("t2") == []


def test_an_order_for_a_trade_that_was_never_saved_cannot_be_recorded(store) -> None:
    """A1: the trade record exists before any of its orders (a foreign key)."""
    with pytest.raises(sqlite3.IntegrityError):
        store.record_intent(place("never-saved"))


def test_fills_are_recorded_once_and_attributed_through_the_ledger(store) -> None:
    command = place()
    store.record_intent(command)
    store.mark_accepted(command.request.client_order_id, 555)
    fill = Fill(trade_id=9001, order_id=555, symbol=CALL, side=Side.BUY, qty=Decimal("0.1"),
                price=Decimal(100), fee=Decimal("0.01"), at=START)
    assert store.record_fill(fill) is True
    assert store.record_fill(fill) is False
    assert store.fills_for_trade("t1") == [fill]
    assert store.latest_fill_time() == START


def test_the_audit_log_is_append_only(store) -> None:
    store.audit("place_order", "123", "sending", qty=Decimal("0.1"))
    [(at, action, subject, outcome, detail)] = store.audit_log()
    assert (at, action, subject, outcome) == (START, "place_order", "123", "sending")
    assert '"qty": "0.1"' in detail
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.connection.execute("DELETE FROM audit")


def test_an_rfq_is_journaled_from_intent_to_block_trade(store, tmp_path, clock) -> None:
    legs = (RfqLeg(CALL, Side.BUY, Decimal("0.5")), RfqLeg(PUT, Side.BUY, Decimal("0.5")))
    record = store.record_rfq_intent(CreateRfq("t1", OrderPurpose.OPEN, 0, legs))
    assert record.state is RfqLedgerState.INTENT
    assert store.record_rfq_intent(CreateRfq("t1", OrderPurpose.OPEN, 0, legs)) == record
    rfq = Rfq("1983130719395909632", RfqState.ACTIVE, legs, START, START + timedelta(hours=1))
    store.mark_rfq_created(record.rfq_key, rfq)
    store.record_accept_intent(record.rfq_key, "q1", Decimal("-1072.5"))
    assert store.find_rfq(rfq.request_id).state is RfqLedgerState.ACCEPTING
    trade = BlockTrade("b1", rfq.request_id, "q1", (
        BlockTradeLeg(CALL, Side.BUY, Decimal(1240), Decimal("0.5"), Decimal("0.62"), 11, 21),
        BlockTradeLeg(PUT, Side.BUY, Decimal(905), Decimal("0.5"), Decimal("0.45"), 12, 22)),
        START)
    store.record_block_trade(record.rfq_key, trade)
    store.close()

    reopened = open_fresh(tmp_path, clock)
    final = reopened.find_rfq(rfq.request_id)
    assert final is not None
    assert (final.state, final.block_trade, final.expected_cost, final.legs) == \
        (RfqLedgerState.FILLED, trade, Decimal("-1072.5"), legs)
    assert final.expires_at == rfq.expires_at
    assert reopened.active_rfqs() == []
    assert len(reopened.fills_for_trade("t1")) == 2


def test_crediting_executions_adds_only_what_the_trade_has_not_counted() -> None:
    """I2/B7: across requotes the leg shows the cumulative fill at the weighted average."""
    trade = make_trade()
    executions = [LegExecution(0, OrderPurpose.OPEN, Decimal("0.3"), Decimal(100)),
                  LegExecution(0, OrderPurpose.OPEN, Decimal("0.2"), Decimal(110),
                               Decimal("0.05"))]
    credited = credit_executions(trade, executions)
    leg = credited.legs[0]
    assert (leg.filled_qty, leg.entry_price, leg.fees) == \
        (Decimal("0.5"), Decimal(104), Decimal("0.05"))
    assert credit_executions(credited, executions) == credited
    closing = [*executions, LegExecution(0, OrderPurpose.UNWIND, Decimal("0.5"), Decimal(90))]
    unwound = credit_executions(credited, closing).legs[0]
    assert (unwound.closed_qty, unwound.exit_price, unwound.open_qty) == \
        (Decimal("0.5"), Decimal(90), Decimal(0))


def test_executions_come_from_ledger_orders_and_block_trades(store) -> None:
    command = place()
    store.record_intent(command)
    store.update_from_exchange(exchange_view(command, "0.5", OrderStatus.FILLED, "0.1", "99"))
    [execution] = executions_from_orders(store.all_orders())
    assert execution == LegExecution(0, OrderPurpose.OPEN, Decimal("0.5"), Decimal(99),
                                     Decimal("0.1"))
    legs = (RfqLeg(PUT, Side.BUY, Decimal("0.5")),)
    record = store.record_rfq_intent(CreateRfq("t1", OrderPurpose.OPEN, 0, legs))
    trade = BlockTrade("b1", "r1", "q1", (BlockTradeLeg(PUT, Side.BUY, Decimal(905),
                                                        Decimal("0.5")),), START)
    record = store.record_block_trade(record.rfq_key, trade)
    [block] = executions_from_rfq(record, make_trade())
    assert (block.leg_index, block.qty, block.price) == (1, Decimal("0.5"), Decimal(905))
