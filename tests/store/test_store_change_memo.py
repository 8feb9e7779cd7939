"""The poll's ledger reads are answered from memory only while the store's connection has
changed no row since (store/memo.py, issue 12): any write forgets them, a write that was
rolled back too, and a list handed out can be changed by its reader without harm."""

from __future__ import annotations

import pytest

from runner.domain.ledger import LedgerStatus
from tests.store.helpers_store import make_trade, open_fresh, place


@pytest.fixture
def store(tmp_path, clock):
    opened = open_fresh(tmp_path, clock)
    opened.save_trade(make_trade("t1"))
    return opened


def _statements(store) -> list[str]:
    seen: list[str] = []
    store.connection.set_trace_callback(seen.append)
    return seen


def _finish_all_then_fail(store) -> None:
    with store.transaction() as tx:
        tx.execute("UPDATE orders SET status = 'final'")
        raise RuntimeError("rolled back")


def test_live_orders_are_read_once_until_a_row_changes(store) -> None:
    first = place()
    store.record_intent(first)
    assert [o.client_order_id for o in store.live_orders()] == [first.request.client_order_id]
    seen = _statements(store)
    again = store.live_orders()
    assert [o.client_order_id for o in again] == [first.request.client_order_id]
    assert seen == []  # answered from memory: nothing changed since the read
    again.clear()  # the reader's list is its own
    assert len(store.live_orders()) == 1
    store.mark_sent(first.request.client_order_id)  # a write: the next read is a read
    rows = store.live_orders()
    assert [o.status for o in rows] == [LedgerStatus.SENT]
    assert any("FROM orders" in s for s in seen)


def test_a_write_of_any_table_and_a_rolled_back_write_forget_the_reads(store) -> None:
    store.record_intent(place())
    store.live_orders()
    store.audit("test", "x", "ok")  # another table
    seen = _statements(store)
    store.live_orders()
    assert len([s for s in seen if "FROM orders" in s]) == 1
    with pytest.raises(RuntimeError):
        _finish_all_then_fail(store)
    assert len(store.live_orders()) == 1  # read again: still live after the rollback
    assert len([s for s in seen if "FROM orders" in s]) == 2


def test_a_filtered_read_is_never_remembered(store) -> None:
    store.record_intent(place())
    seen = _statements(store)
    store.live_orders(trade_id="t1")
    store.live_orders(trade_id="t1")
    store.active_rfqs(trade_id="t1")
    store.active_rfqs(trade_id="t1")
    assert len(seen) == 4


def test_after_the_file_is_written_back_the_new_connection_is_the_one_read(store) -> None:
    """A deleted store file is written back from the open connection and the store switches
    to a new one (file_watch.write_back, issue 7): what it writes then is seen at once."""
    store.record_intent(place())
    assert len(store.live_orders()) == 1
    store.path.unlink()
    store.write_back()
    store.record_intent(place(leg=1))
    assert len(store.live_orders()) == 2
    assert store.active_rfqs() == []
