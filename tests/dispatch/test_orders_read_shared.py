"""The poll's open-orders read is kept for the tick's snapshot (issue 11: one read a tick).

It is handed out only for the moment it was read at, only while nothing was sent since
(an order placed or a cancel sent after it makes it untrue), and a failed read is handed
out as a failure, never as an empty list. Exchange truth is the simulated venue.
"""

from __future__ import annotations

from datetime import timedelta

from runner.dispatch import Dispatcher
from runner.domain.commands import CancelOrder, OrderAccepted
from runner.domain.ledger import LedgerStatus
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.faulty import FaultyExchange
from tests.dispatch.helpers_dispatch import (
    CountingExchange,
    liquid_call,
    make_venue,
    resting_buy_price,
)
from tests.dispatch.test_dispatch_orders import buy
from tests.store.helpers_store import make_trade, open_fresh


def setup(tmp_path, clock, plan: FaultPlan | None = None):
    venue = make_venue(clock)
    store = open_fresh(tmp_path, clock)
    exchange = CountingExchange(FaultyExchange(venue, plan or FaultPlan.of(), clock))
    store.save_trade(make_trade("t1"))
    return exchange, store, Dispatcher(exchange, store, clock), liquid_call(venue)


def test_the_poll_keeps_its_open_orders_read_for_the_moment_it_read_them(tmp_path,
                                                                          clock) -> None:
    exchange, _store, dispatcher, quote = setup(tmp_path, clock)
    resting = buy(quote, resting_buy_price(quote))
    dispatcher.execute([resting])
    clock.advance(timedelta(seconds=2))
    assert dispatcher.orders_polled(clock.now()) is None  # no poll yet at this moment
    exchange.calls.clear()
    dispatcher.poll(clock.now())
    read = dispatcher.orders_polled(clock.now())
    assert read is not None
    assert read.orders is not None
    assert [o.client_order_id for o in read.orders] == [resting.request.client_order_id]
    assert exchange.calls["open_orders"] == 1
    clock.advance(timedelta(seconds=2))
    assert dispatcher.orders_polled(clock.now()) is None  # a read of an earlier tick


def test_a_poll_with_no_order_of_ours_working_reads_nothing_and_keeps_nothing(
        tmp_path, clock) -> None:
    exchange, _store, dispatcher, _quote = setup(tmp_path, clock)
    dispatcher.poll(clock.now())
    assert exchange.calls["open_orders"] == 0
    assert dispatcher.orders_polled(clock.now()) is None  # the snapshot reads them itself


def test_an_intent_re_sent_after_the_read_makes_the_read_unusable(tmp_path, clock) -> None:
    """D3: an intent the exchange could not take is sent again by the poll under the same
    client order id, after the poll's read: that read lacks the order now working, so the
    snapshot must read the list itself (else a tick could take the order as gone)."""
    plan = FaultPlan.of(FaultRule(endpoint="place_order", kind=FaultKind.HTTP_5XX, count=1,
                                  after=1))
    _exchange, store, dispatcher, quote = setup(tmp_path, clock, plan)
    working = buy(quote, resting_buy_price(quote), leg=0)
    retried = buy(quote, resting_buy_price(quote), leg=1)
    dispatcher.execute([working, retried])
    row = store.find_by_client_order_id(retried.request.client_order_id)
    assert row is not None
    assert row.status is LedgerStatus.INTENT
    clock.advance(timedelta(seconds=2))
    events = dispatcher.poll(clock.now())
    assert OrderAccepted(retried.request.client_order_id, events[-1].order_id) in events
    assert dispatcher.orders_polled(clock.now()) is None


def test_a_cancel_sent_after_the_read_makes_the_read_unusable(tmp_path, clock) -> None:
    _exchange, _store, dispatcher, quote = setup(tmp_path, clock)
    resting = buy(quote, resting_buy_price(quote))
    dispatcher.execute([resting])
    clock.advance(timedelta(seconds=2))
    dispatcher.poll(clock.now())
    dispatcher.execute([CancelOrder("t1", resting.request.client_order_id, None, "requote")])
    assert dispatcher.orders_polled(clock.now()) is None


def test_a_failed_read_is_kept_as_a_failure_never_as_no_orders(tmp_path, clock) -> None:
    """C5: the snapshot must see "open orders unknown", not an empty list."""
    plan = FaultPlan.of()
    _exchange, _store, dispatcher, quote = setup(tmp_path, clock, plan)
    dispatcher.execute([buy(quote, resting_buy_price(quote))])
    clock.advance(timedelta(seconds=2))
    plan.add(FaultRule(endpoint="open_orders", kind=FaultKind.HTTP_5XX, count=1))
    assert dispatcher.poll(clock.now()) == []
    read = dispatcher.orders_polled(clock.now())
    assert read is not None
    assert read.orders is None
    assert read.error


def test_a_poll_reads_the_ledgers_live_orders_once_and_a_working_order_once(tmp_path,
                                                                            clock) -> None:
    """Issue 12: the poll reads the live orders once for the orders it refreshes and the
    intents it re-sends, and a working order seen unchanged is not read a second time."""
    _exchange, store, dispatcher, quote = setup(tmp_path, clock)
    resting = buy(quote, resting_buy_price(quote))
    dispatcher.execute([resting])
    clock.advance(timedelta(seconds=2))
    dispatcher.poll(clock.now())  # the exchange's first view of it is recorded
    clock.advance(timedelta(seconds=2))
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    assert dispatcher.poll(clock.now()) == []  # working, unchanged
    store.connection.set_trace_callback(None)
    orders = [s for s in statements if "FROM orders" in s]
    assert len(orders) == 1
    assert "status IN" in orders[0]
    assert not [s for s in statements if not s.lstrip().startswith("SELECT")]  # no write
    assert store.find_by_client_order_id(resting.request.client_order_id).status is \
        LedgerStatus.ACCEPTED



def test_an_accepted_order_and_its_audit_line_are_one_commit(tmp_path, clock) -> None:
    """Issue 12: the answer to a placed order is recorded with its audit line in one
    transaction (a crash leaves both or neither: the order then stays SENT and is looked
    up, D3), not two."""
    _exchange, store, dispatcher, quote = setup(tmp_path, clock)
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    [event] = dispatcher.execute([buy(quote, resting_buy_price(quote))])
    store.connection.set_trace_callback(None)
    assert isinstance(event, OrderAccepted)
    accepted = next(i for i, s in enumerate(statements) if "exchange_order_id" in s
                    and s.startswith("UPDATE"))
    audited = next(i for i, s in enumerate(statements)
                   if s.startswith("INSERT INTO audit") and "'accepted'" in s)
    assert accepted < audited
    between = statements[accepted:audited]
    assert "COMMIT" not in between
    assert "BEGIN IMMEDIATE" not in between
