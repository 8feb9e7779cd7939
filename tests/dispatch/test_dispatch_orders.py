"""The dispatcher: intent before action, idempotent placement, lost replies adopted.

Exchange truth comes from the simulated venue; the store is SQLite in tmp_path.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runner.dispatch import Dispatcher, DispatchLimits
from runner.domain.commands import (
    CancelOrder,
    OrderAccepted,
    OrderOutcomeUnknown,
    OrderPurpose,
    OrderRejected,
    OrderUpdated,
)
from runner.domain.ledger import LedgerStatus
from runner.domain.orders import OrderStatus, Side
from runner.domain.trades import TradeStage
from runner.sim.faults import FaultKind, FaultPlan, FaultRule, FaultyExchange
from tests.dispatch.helpers_dispatch import (
    CountingExchange,
    InspectingExchange,
    crossing_buy_price,
    liquid_call,
    make_venue,
    resting_buy_price,
    resting_sell_price,
    venue_orders,
)
from tests.store.helpers_store import make_trade, open_fresh, place


def setup(tmp_path, clock, wrap=None):
    venue = make_venue(clock)
    store = open_fresh(tmp_path, clock)
    exchange = wrap(venue) if wrap else venue
    quote = liquid_call(venue)
    store.save_trade(make_trade("t1"))
    return venue, store, Dispatcher(exchange, store, clock), quote


def buy(quote, price, **fields):
    return place(symbol=quote.symbol, side=Side.BUY, qty="0.1", price=str(price), **fields)


def test_the_intent_is_committed_before_the_exchange_is_called(tmp_path, clock) -> None:
    """A1/D3: a separate connection sees the intent, marked as being sent, at call time."""
    venue = make_venue(clock)
    store = open_fresh(tmp_path, clock)
    store.save_trade(make_trade("t1"))
    inspecting = InspectingExchange(venue, store.path)
    dispatcher = Dispatcher(inspecting, store, clock)
    quote = liquid_call(venue)
    [event] = dispatcher.execute([buy(quote, resting_buy_price(quote))])
    assert isinstance(event, OrderAccepted)
    assert inspecting.seen_at_send == [("sent", 1)]


def test_placing_the_same_close_ten_times_in_one_tick_gives_one_order(tmp_path, clock) -> None:
    """B2/B3: a live order under the same key is reused, never sent again."""
    venue, store, dispatcher, quote = setup(tmp_path, clock)
    dispatcher.execute([buy(quote, crossing_buy_price(quote))])  # hold 0.1 to close
    close = place(symbol=quote.symbol, side=Side.SELL, qty="0.1",
                  price=str(resting_sell_price(quote)), purpose=OrderPurpose.CLOSE,
                  reason="take_profit", reduce_only=True)
    events = dispatcher.execute([close] * 10)
    assert {type(e) for e in events} == {OrderAccepted}
    assert len({e.order_id for e in events}) == 1
    closes = [o for o in venue_orders(venue) if o.side is Side.SELL]
    assert len(closes) == 1
    assert len(store.live_orders("t1", OrderPurpose.CLOSE)) == 1


def test_a_new_attempt_is_refused_while_the_previous_order_of_the_leg_works(tmp_path,
                                                                             clock) -> None:
    """B3: no second set of orders while the first is live; nothing reaches the exchange."""
    venue, _, dispatcher, quote = setup(tmp_path, clock)
    dispatcher.execute([buy(quote, resting_buy_price(quote), attempt=0)])
    [event] = dispatcher.execute([buy(quote, resting_buy_price(quote), attempt=1)])
    assert isinstance(event, OrderRejected)
    assert event.code is None
    assert "cancel it first" in event.message
    assert len(venue_orders(venue)) == 1


def test_a_stop_loss_close_never_reuses_the_resting_take_profit_order(tmp_path, clock) -> None:
    """B4: the key includes the reason; after the TP is cancelled the SL is a fresh order."""
    venue, store, dispatcher, quote = setup(tmp_path, clock)
    dispatcher.execute([buy(quote, crossing_buy_price(quote))])
    take_profit = place(symbol=quote.symbol, side=Side.SELL, qty="0.1",
                        price=str(resting_sell_price(quote)), purpose=OrderPurpose.CLOSE,
                        reason="take_profit", reduce_only=True)
    stop_loss = place(symbol=quote.symbol, side=Side.SELL, qty="0.1", price=str(quote.bid),
                      purpose=OrderPurpose.CLOSE, reason="stop_loss", reduce_only=True)
    assert take_profit.request.client_order_id != stop_loss.request.client_order_id
    [tp_accepted] = dispatcher.execute([take_profit])
    events = dispatcher.execute([
        CancelOrder("t1", take_profit.request.client_order_id, None, "stop_loss fired"),
        stop_loss,
    ])
    accepted = [e for e in events if isinstance(e, OrderAccepted)]
    assert [e.client_order_id for e in accepted] == [stop_loss.request.client_order_id]
    assert accepted[0].order_id != tp_accepted.order_id
    by_client = {o.client_order_id: o for o in venue_orders(venue)}
    assert by_client[take_profit.request.client_order_id].status is OrderStatus.CANCELED
    assert by_client[stop_loss.request.client_order_id].price == quote.bid
    tp_row = store.find_by_client_order_id(take_profit.request.client_order_id)
    assert tp_row is not None
    assert tp_row.status is LedgerStatus.FINAL


def test_a_lost_reply_is_adopted_by_client_order_id_without_a_second_order(tmp_path,
                                                                            clock) -> None:
    """D3: the venue accepted the order but the answer was lost: adopted, zero duplicates."""
    plan = FaultPlan.of(FaultRule(endpoint="place_order", kind=FaultKind.LOST_RESPONSE,
                                  count=1))
    venue, store, dispatcher, quote = setup(
        tmp_path, clock, wrap=lambda v: FaultyExchange(v, plan, clock))
    command = buy(quote, resting_buy_price(quote))
    [event] = dispatcher.execute([command])
    assert isinstance(event, OrderAccepted)
    row = store.find_by_client_order_id(command.request.client_order_id)
    assert row is not None
    assert row.status is LedgerStatus.ACCEPTED
    assert row.order_id == event.order_id
    assert dispatcher.execute([command]) == [event]
    assert len(venue_orders(venue)) == 1


def test_dropping_ten_percent_of_create_replies_leaves_no_orphan_and_no_duplicate(
        tmp_path, clock) -> None:
    """D3: 10 % lost replies and 5 % requests that never arrive, over 80 orders."""
    plan = FaultPlan.of(
        FaultRule(endpoint="place_order", kind=FaultKind.LOST_RESPONSE, probability=0.10),
        FaultRule(endpoint="place_order", kind=FaultKind.DISCONNECT, probability=0.05),
        seed=11)
    venue, store, dispatcher, quote = setup(
        tmp_path, clock, wrap=lambda v: FaultyExchange(v, plan, clock))
    for number in range(80):
        trade_id = f"d{number}"
        store.save_trade(make_trade(trade_id))
        command = buy(quote, resting_buy_price(quote), trade_id=trade_id)
        dispatcher.execute([command])
        dispatcher.execute([CancelOrder(trade_id, command.request.client_order_id, None,
                                        "done")])
        clock.advance(timedelta(seconds=1))
    clock.advance(timedelta(seconds=60))
    dispatcher.poll()
    ledger = {row.client_order_id: row for row in store.all_orders()}
    placed = venue_orders(venue)
    placed_ids = [o.client_order_id for o in placed]
    assert len(placed_ids) == len(set(placed_ids)), "a client order id was placed twice"
    assert all(ledger[cid].order_id is not None for cid in placed_ids), "an orphan exists"
    assert all(o.status.is_final for o in placed), "an order was left working"
    never_placed = [r for r in ledger.values() if r.client_order_id not in set(placed_ids)]
    assert all(r.status is LedgerStatus.REJECTED for r in never_placed)
    assert sum(plan.fired()) > 0


def test_an_exchange_refusal_is_reported_and_never_resent(tmp_path, clock) -> None:
    venue, store, dispatcher, quote = setup(tmp_path, clock)
    command = place(symbol=quote.symbol, side=Side.BUY, qty="0.001", price="10")
    [event] = dispatcher.execute([command])
    assert isinstance(event, OrderRejected)
    assert event.code == 10558
    assert dispatcher.execute([command]) == [event]
    row = store.find_by_client_order_id(command.request.client_order_id)
    assert row is not None
    assert row.status is LedgerStatus.REJECTED
    assert row.send_attempts == 1
    assert venue_orders(venue) == []


def test_an_unavailable_exchange_leaves_the_intent_to_be_sent_again_under_the_same_id(
        tmp_path, clock) -> None:
    plan = FaultPlan.of(FaultRule(endpoint="place_order", kind=FaultKind.HTTP_5XX, count=1))
    venue, store, dispatcher, quote = setup(
        tmp_path, clock, wrap=lambda v: FaultyExchange(v, plan, clock))
    command = buy(quote, resting_buy_price(quote))
    [event] = dispatcher.execute([command])
    assert event == OrderOutcomeUnknown(command.request.client_order_id)
    row = store.find_by_client_order_id(command.request.client_order_id)
    assert row is not None
    assert row.status is LedgerStatus.INTENT
    clock.advance(timedelta(seconds=5))
    events = dispatcher.poll()
    assert [type(e) for e in events] == [OrderAccepted]
    assert [o.client_order_id for o in venue_orders(venue)] == [command.request.client_order_id]


def test_an_intent_the_exchange_never_took_is_abandoned_after_its_time_to_live(tmp_path,
                                                                              clock) -> None:
    plan = FaultPlan.of(FaultRule(endpoint="place_order", kind=FaultKind.HTTP_5XX))
    venue, _store, dispatcher, quote = setup(
        tmp_path, clock, wrap=lambda v: FaultyExchange(v, plan, clock))
    command = buy(quote, resting_buy_price(quote))
    dispatcher.execute([command])
    clock.advance(timedelta(seconds=61))
    [event] = dispatcher.poll()
    assert isinstance(event, OrderRejected)
    assert "time to live" in event.message
    assert venue_orders(venue) == []


def test_cancelling_re_reads_the_order_and_reports_its_fills(tmp_path, clock) -> None:
    """B1/pitfall 12: an order that filled before the cancel is reported filled."""
    _, store, dispatcher, quote = setup(tmp_path, clock)
    command = buy(quote, crossing_buy_price(quote))
    dispatcher.execute([command])
    events = dispatcher.execute([CancelOrder("t1", command.request.client_order_id, None,
                                             "requote")])
    updates = [e for e in events if isinstance(e, OrderUpdated)]
    assert updates == [] or updates[0].order.filled_qty == Decimal("0.1")
    row = store.find_by_client_order_id(command.request.client_order_id)
    assert row is not None
    assert row.filled_qty == Decimal("0.1")
    assert row.exchange_status is OrderStatus.FILLED
    assert row.cancel_requested_at is not None


def test_cancelling_a_resting_order_finalises_it_in_the_ledger(tmp_path, clock) -> None:
    _venue, store, dispatcher, quote = setup(tmp_path, clock)
    command = buy(quote, resting_buy_price(quote))
    dispatcher.execute([command])
    [update] = dispatcher.execute([CancelOrder("t1", command.request.client_order_id, None,
                                               "requote")])
    assert isinstance(update, OrderUpdated)
    assert update.order.status is OrderStatus.CANCELED
    assert store.live_orders() == []
    outcomes = [entry[3] for entry in store.audit_log() if entry[1] == "cancel_order"]
    assert outcomes == ["sending", "cancelled"]


def test_a_cancel_for_an_order_the_runner_did_not_place_is_refused(tmp_path, clock) -> None:
    _, store, dispatcher, _ = setup(tmp_path, clock)
    assert dispatcher.execute([CancelOrder("t1", 12345, 678, "tidy up")]) == []
    assert store.audit_log()[-1][3] == "refused"


def test_orders_need_a_saved_active_trade(tmp_path, clock) -> None:
    """A1: the trade record is durable before any of its orders is sent."""
    _, store, dispatcher, quote = setup(tmp_path, clock)
    [unsaved] = dispatcher.execute([buy(quote, 10, trade_id="nobody")])
    assert isinstance(unsaved, OrderRejected)
    assert "not in the store" in unsaved.message
    store.save_trade(make_trade("gone").moved_to(TradeStage.FAILED, "no price", clock.now()))
    [closed] = dispatcher.execute([buy(quote, 10, trade_id="gone")])
    assert isinstance(closed, OrderRejected)
    assert store.find_by_client_order_id(unsaved.client_order_id) is None


def test_hard_caps_limit_live_orders_per_symbol_and_orders_per_trade(tmp_path, clock) -> None:
    """B2: at most 4 live orders per symbol and 30 orders per trade."""
    venue, store, dispatcher, quote = setup(tmp_path, clock)
    for leg in range(4):
        dispatcher.execute([buy(quote, resting_buy_price(quote), leg=leg)])
    [fifth] = dispatcher.execute([buy(quote, resting_buy_price(quote), leg=4)])
    assert isinstance(fifth, OrderRejected)
    assert "4 live orders" in fifth.message
    small = Dispatcher(venue, store, clock, DispatchLimits(max_orders_per_trade=4))
    [capped] = small.execute([buy(quote, resting_buy_price(quote), leg=9)])
    assert "reached 4 orders" in capped.message


def test_one_open_orders_read_per_poll_whatever_the_number_of_orders(tmp_path, clock) -> None:
    """Design decision 2: polling cost does not grow with strategies or orders."""
    venue, store, _, quote = setup(tmp_path, clock)
    counting = CountingExchange(venue)
    dispatcher = Dispatcher(counting, store, clock)
    for number in range(3):
        store.save_trade(make_trade(f"s{number}", strategy=f"strategy{number}"))
        dispatcher.execute([buy(quote, resting_buy_price(quote), trade_id=f"s{number}")])
    counting.calls.clear()
    clock.advance(timedelta(seconds=5))
    assert dispatcher.poll() == []
    assert counting.calls == {"open_orders": 1}


def test_a_fill_that_happens_between_polls_is_reported_from_exchange_truth(tmp_path,
                                                                           clock) -> None:
    """B7: the exchange's cumulative fill per order is what the ledger keeps and reports."""
    _venue, store, dispatcher, quote = setup(tmp_path, clock)
    command = buy(quote, crossing_buy_price(quote))
    dispatcher.execute([command])
    row = store.find_by_client_order_id(command.request.client_order_id)
    assert row is not None
    store.mark_accepted(row.client_order_id, row.order_id or 0)  # as if the fill were unseen
    store.connection.execute("UPDATE orders SET filled_qty = '0', status = 'accepted'")
    clock.advance(timedelta(seconds=5))
    events = dispatcher.poll()
    [update] = [e for e in events if isinstance(e, OrderUpdated)]
    assert update.order.filled_qty == Decimal("0.1")
    assert update.order.status is OrderStatus.FILLED
    assert len(store.fills_for_trade("t1")) >= 1
    assert dispatcher.poll() == []
