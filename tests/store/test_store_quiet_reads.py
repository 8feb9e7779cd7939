"""The ledger reads the service does every tick write nothing when nothing changed
(issue 12: a working order is seen again, unchanged, on every tick)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runner.domain.ledger import LedgerStatus
from runner.domain.orders import OrderStatus
from tests.store.helpers_store import make_trade, open_fresh, place
from tests.store.test_store_ledger import exchange_view


@pytest.fixture
def store(tmp_path, clock):
    opened = open_fresh(tmp_path, clock)
    opened.save_trade(make_trade("t1"))
    return opened


def test_an_order_seen_again_unchanged_writes_nothing(store) -> None:
    command = place()
    store.record_intent(command)
    first = store.update_from_exchange(exchange_view(command, "0.1",
                                                     OrderStatus.PARTIALLY_FILLED, "0.01"))
    assert first is not None
    assert first[1] is True
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    again = store.update_from_exchange(exchange_view(command, "0.1",
                                                     OrderStatus.PARTIALLY_FILLED, "0.01"))
    assert again == (first[0], False)
    assert [s for s in statements if not s.startswith("SELECT")] == []


def test_an_order_seen_changed_is_written_and_read_back(store) -> None:
    command = place()
    store.record_intent(command)
    store.update_from_exchange(exchange_view(command, "0.1", OrderStatus.PARTIALLY_FILLED))
    row, changed = store.update_from_exchange(exchange_view(command, "0.5", OrderStatus.FILLED,
                                                            "0.02", "101"))
    assert changed is True
    assert (row.status, row.filled_qty, row.fee, row.avg_price) == \
        (LedgerStatus.FINAL, Decimal("0.5"), Decimal("0.02"), Decimal("101"))
    assert store.find_by_client_order_id(command.request.client_order_id) == row


def test_unsent_intents_are_the_live_orders_not_yet_sent(store) -> None:
    waiting, sent, accepted = place(), place(leg=1), place(reason="requote")
    for command in (waiting, sent, accepted):
        store.record_intent(command)
    store.mark_sent(sent.request.client_order_id)
    store.mark_sent(accepted.request.client_order_id)
    store.mark_accepted(accepted.request.client_order_id, 777)
    assert [o.client_order_id for o in store.unsent_intents()] == \
        [o.client_order_id for o in store.live_orders() if o.status is LedgerStatus.INTENT] == \
        [waiting.request.client_order_id]


def test_a_mark_writes_its_row_and_reads_nothing_back(store, clock) -> None:
    """Issue 12: the marks are one UPDATE each (their callers never need the row); the
    attempt is counted by the UPDATE itself."""
    command = place()
    store.record_intent(command)
    cid = command.request.client_order_id
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    store.mark_sent(cid)
    store.mark_sent(cid)
    store.mark_accepted(cid, 777)
    store.connection.set_trace_callback(None)
    assert [s for s in statements if s.startswith("SELECT")] == []
    row = store.find_by_client_order_id(cid)
    assert (row.status, row.send_attempts, row.sent_at, row.order_id) == \
        (LedgerStatus.ACCEPTED, 2, clock.now(), 777)


def test_marking_an_order_the_ledger_does_not_hold_fails_and_writes_nothing(store) -> None:
    before = store.connection.total_changes
    with pytest.raises(KeyError, match="not in the ledger"):
        store.mark_sent(424242)
    with pytest.raises(KeyError, match="not in the ledger"):
        store.mark_rejected(424242, None, "no such order")
    assert store.connection.total_changes == before
    assert store.all_orders() == []


def test_the_order_reasons_of_a_trade_are_those_of_its_orders(store) -> None:
    """What the per-trade cap counts (B2), read as the reasons alone."""
    for command in (place(), place(leg=1), place(reason="requote"), place(trade_id="t2")):
        if command.key.trade_id == "t2":
            store.save_trade(make_trade("t2"))
        store.record_intent(command)
    assert sorted(store.order_reasons("t1")) == \
        sorted(o.key.reason for o in store.orders_for_trade("t1"))
    assert len(store.order_reasons("t1")) == 3
    assert store.order_reasons("t9") == []
