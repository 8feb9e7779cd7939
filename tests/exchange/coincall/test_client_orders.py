"""Orders through CoincallClient: placement never doubles (D3), cancels, lookups, listings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from runner.domain.clock import ManualClock, to_epoch_ms
from runner.domain.instruments import Underlying
from runner.domain.orders import OrderRequest, OrderStatus, Side
from runner.exchange.coincall import endpoints as ep
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.errors import (
    ExchangeRejected,
    InsufficientFunds,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
)

from .conftest import FakeCoincall, Reply

CREATE = ep.PLACE_ORDER.path
CANCEL = ep.CANCEL_ORDER.path
QUERY = ep.SINGLE_ORDER.path
ORDER_ID = 1983131927527428096
CLIENT_ID = 1767225600123
LOST = Reply(body={"code": 0, "data": ORDER_ID}, delay=0.6)  # accepted, answer arrives too late
NOT_FOUND = FakeCoincall.error(10584, "order does not exist")

REQUEST = OrderRequest(symbol="BTCUSD-27FEB26-90000-C", side=Side.SELL, qty=Decimal("0.1"),
                       price=Decimal("1250.5"), client_order_id=CLIENT_ID, reduce_only=True)


def _client_ids(coincall: FakeCoincall) -> list[int]:
    return [json.loads(r.raw_body)["clientOrderId"] for r in coincall.sent(CREATE)]


def test_a_placed_order_returns_the_exchange_id_from_the_documented_body(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.script("POST", CREATE, coincall.ok(ORDER_ID))
    assert client.place_order(REQUEST) == ORDER_ID
    [sent] = coincall.sent(CREATE)
    assert sent.signature_valid is True
    assert sent.params == {"symbol": "BTCUSD-27FEB26-90000-C", "tradeSide": 2, "tradeType": 1,
                           "qty": 0.1, "price": 1250.5, "timeInForce": "GTC",
                           "clientOrderId": CLIENT_ID, "reduceOnly": 1}


@pytest.mark.parametrize("lost", [LOST, Reply(drop=True), Reply(status=502),
                                  FakeCoincall.error(10582, "order timed out")],
                         ids=["timeout", "dropped", "502", "10582"])
def test_a_lost_answer_is_resolved_by_adopting_the_order_found_by_client_id(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace,
        lost: Reply) -> None:
    """D3: timeout after sending -> look up by client order id -> adopt; one order only."""
    coincall.script("POST", CREATE, lost)
    coincall.script("GET", QUERY, coincall.ok(dict(doc.single_order, state=0, fillQty=0)))
    assert client.place_order(REQUEST) == ORDER_ID
    assert len(coincall.sent(CREATE)) == 1
    assert coincall.sent(QUERY)[0].params == {"clientOrderId": str(CLIENT_ID)}


def test_an_order_not_found_after_a_lost_answer_is_sent_again_with_the_same_client_id(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.script("POST", CREATE, Reply(drop=True), coincall.ok(ORDER_ID))
    coincall.script("GET", QUERY, NOT_FOUND)
    assert client.place_order(REQUEST) == ORDER_ID
    assert _client_ids(coincall) == [CLIENT_ID, CLIENT_ID]


def test_a_duplicate_client_id_on_the_resend_is_adopted_not_doubled(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    """The first send did land, but was not visible yet: 10577, look again, adopt."""
    coincall.script("POST", CREATE, Reply(drop=True),
                    coincall.error(10577, "duplicate client order id"))
    coincall.script("GET", QUERY, NOT_FOUND, coincall.ok(doc.single_order))
    assert client.place_order(REQUEST) == ORDER_ID
    assert _client_ids(coincall) == [CLIENT_ID, CLIENT_ID]
    assert len(coincall.sent(QUERY)) == 2


def test_a_duplicate_client_id_on_the_first_send_adopts_the_existing_order(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    """A1/D3: after a restart the intent is sent again; the exchange already has it."""
    coincall.script("POST", CREATE, coincall.error(10577, "duplicate client order id"))
    coincall.script("GET", QUERY, coincall.ok(doc.single_order))
    assert client.place_order(REQUEST) == ORDER_ID
    assert len(coincall.sent(CREATE)) == 1


def test_when_both_sends_are_lost_and_nothing_is_found_the_outcome_stays_unknown(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    """Never a third send: the caller's reconciliation takes over."""
    coincall.script("POST", CREATE, Reply(drop=True), Reply(drop=True))
    coincall.always("GET", QUERY, NOT_FOUND)
    with pytest.raises(OutcomeUnknown, match=str(CLIENT_ID)):
        client.place_order(REQUEST)
    assert len(coincall.sent(CREATE)) == 2


def test_when_the_lookup_itself_fails_nothing_is_sent_again(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.script("POST", CREATE, Reply(drop=True))
    coincall.always("GET", QUERY, Reply(status=503))
    with pytest.raises(OutcomeUnknown, match="lookup failed"):
        client.place_order(REQUEST)
    assert len(coincall.sent(CREATE)) == 1
    assert len(coincall.sent(QUERY)) == 4  # the lookup is a read: retried 1, 2, 4 s


def test_an_unreadable_ack_is_resolved_by_lookup(client: CoincallClient, coincall: FakeCoincall,
                                                 doc: SimpleNamespace) -> None:
    coincall.script("POST", CREATE, coincall.ok({"weird": True}))
    coincall.script("GET", QUERY, coincall.ok(doc.single_order))
    assert client.place_order(REQUEST) == ORDER_ID
    assert len(coincall.sent(CREATE)) == 1


def test_a_client_id_that_belongs_to_another_order_is_never_adopted(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    coincall.script("POST", CREATE, Reply(drop=True))
    coincall.script("GET", QUERY, coincall.ok(dict(doc.single_order, tradeSide=1)))
    with pytest.raises(ExchangeRejected, match="another order"):
        client.place_order(REQUEST)


def test_a_rejected_order_is_raised_without_lookup_or_resend(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.script("POST", CREATE, coincall.error(10529, "insufficient balance"))
    with pytest.raises(InsufficientFunds):
        client.place_order(REQUEST)
    assert len(coincall.sent(CREATE)) == 1
    assert coincall.sent(QUERY) == []


def test_get_order_by_id_or_client_id_and_none_when_unknown(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    coincall.script("GET", QUERY, coincall.ok(doc.single_order), NOT_FOUND, coincall.ok(None))
    order = client.get_order(order_id=ORDER_ID)
    assert order is not None
    assert order.status is OrderStatus.FILLED
    assert coincall.sent(QUERY)[0].params == {"orderId": str(ORDER_ID)}
    assert client.get_order(client_order_id=5) is None
    assert client.get_order(client_order_id=6) is None


def test_cancel_sends_the_order_id_as_a_json_integer(client: CoincallClient,
                                                      coincall: FakeCoincall) -> None:
    coincall.script("POST", CANCEL, coincall.ok("success"))
    client.cancel_order(order_id=ORDER_ID)
    [sent] = coincall.sent(CANCEL)
    assert sent.raw_body == b'{"orderId":1983131927527428096}'
    assert sent.signature_valid is True


@pytest.mark.parametrize("code", [11101, 11102])
def test_cancelling_an_order_already_final_is_done(client: CoincallClient,
                                                    coincall: FakeCoincall, code: int) -> None:
    coincall.script("POST", CANCEL, coincall.error(code, "already final"))
    client.cancel_order(client_order_id=CLIENT_ID)
    assert len(coincall.sent(CANCEL)) == 1


def test_a_lost_cancel_answer_is_checked_and_a_still_live_order_cancelled_again(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    coincall.script("POST", CANCEL, Reply(drop=True), coincall.ok("success"))
    coincall.script("GET", QUERY, coincall.ok(dict(doc.single_order, state=0, fillQty=0)))
    client.cancel_order(order_id=ORDER_ID)
    assert len(coincall.sent(CANCEL)) == 2


@pytest.mark.parametrize("state", [3, 4, 1])
def test_a_lost_cancel_answer_for_an_order_already_ending_is_not_resent(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace,
        state: int) -> None:
    coincall.script("POST", CANCEL, FakeCoincall.error(10583, "cancel timed out"))
    coincall.script("GET", QUERY, coincall.ok(dict(doc.single_order, state=state)))
    client.cancel_order(order_id=ORDER_ID)
    assert len(coincall.sent(CANCEL)) == 1


def test_cancelling_an_unknown_order_is_order_not_found(client: CoincallClient,
                                                         coincall: FakeCoincall) -> None:
    coincall.script("POST", CANCEL, coincall.error(10584, "order does not exist"))
    with pytest.raises(OrderNotFound):
        client.cancel_order(order_id=1)


def test_open_orders_reads_every_page(client: CoincallClient, coincall: FakeCoincall) -> None:
    row = {"orderId": 1, "clientOrderId": 2, "symbol": "BTCUSD-27FEB26-90000-C", "qty": "1",
           "remainQty": "1", "fillQty": "0", "price": "1200", "tradeSide": 1, "tradeType": 1}
    path = ep.OPEN_ORDERS.path
    coincall.script("GET", path, coincall.ok({"list": [row], "pageTotal": 2, "total": 2}),
                    coincall.ok({"list": [dict(row, orderId=3)], "pageTotal": 2, "total": 2}))
    orders = client.open_orders(Underlying.BTC)
    assert [o.order_id for o in orders] == [1, 3]
    assert [(r.params["page"], r.params["currency"]) for r in coincall.sent(path)] == [
        ("1", "BTC"), ("2", "BTC")]


def test_fills_page_through_history_and_keep_only_those_since_oldest_first(
        client: CoincallClient, coincall: FakeCoincall, clock: ManualClock) -> None:
    since = clock.now() - timedelta(hours=1)

    def fill(trade_id: int, minutes_ago: int) -> dict[str, object]:
        at = to_epoch_ms(clock.now() - timedelta(minutes=minutes_ago))
        return {"tradeId": trade_id, "orderId": 9, "symbol": "BTCUSD-27FEB26-90000-C",
                "tradeSide": 1, "price": "1200", "qty": "0.1", "fee": "0.1", "time": at}

    path = ep.TRADE_HISTORY.path
    coincall.script("GET", path, coincall.ok({"list": [fill(50, 1), fill(40, 10)],
                                              "hasNext": True}),
                    coincall.ok({"list": [fill(30, 30), fill(20, 90)], "hasNext": False}))
    fills = client.fills(since)
    assert [f.trade_id for f in fills] == [30, 40, 50]
    first, second = coincall.sent(path)
    assert first.params["startTime"] == str(to_epoch_ms(since))
    assert "fromId" not in first.params
    assert second.params["fromId"] == "40"


def test_the_fills_window_never_exceeds_the_documented_90_days(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.always("GET", ep.TRADE_HISTORY.path, coincall.ok({"list": [], "hasNext": False}))
    assert client.fills(datetime(2025, 1, 1, tzinfo=UTC)) == []
    sent = coincall.sent(ep.TRADE_HISTORY.path)[0].params
    assert int(sent["endTime"]) - int(sent["startTime"]) <= 90 * 86_400_000


def test_a_throttled_resend_leaves_the_first_send_unresolved_not_absent(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    """A resend refused for throttling says nothing about the first send: still unknown."""
    coincall.script("POST", CREATE, Reply(drop=True), Reply(status=429))
    coincall.always("GET", QUERY, NOT_FOUND)
    with pytest.raises(OutcomeUnknown, match="unresolved"):
        client.place_order(REQUEST)
    assert len(coincall.sent(CREATE)) == 2


def test_a_throttled_first_send_is_rate_limited_because_nothing_was_placed(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.script("POST", CREATE, coincall.error(10605, "too frequent"))
    with pytest.raises(RateLimited):
        client.place_order(REQUEST)
    assert coincall.sent(QUERY) == []
