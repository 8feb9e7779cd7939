"""Order, account and RFQ payloads of coincall-api.md 6.2-6.4, both directions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from runner.domain.orders import OrderRequest, OrderStatus, Side, TimeInForce
from runner.domain.rfq import QuoteState, RfqLeg, RfqState
from runner.exchange.coincall.signing import signature
from runner.exchange.coincall.wire import account, orders, rfq
from runner.exchange.errors import MalformedResponse

KEY = "Zk3vT9qLw2XnB7pR5sY1uZ8cD4eH6jM0aQ2iN5oV7wE="  # the worked example's (3.4)
SECRET = "9c4b1e7f2a6d8c0b3e5f7a9d1c2b4e6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b"
SYMBOL = "BTCUSD-27FEB26-90000-C"
PUT = "BTCUSD-27FEB26-80000-P"


def _request(**overrides: object) -> OrderRequest:
    fields: dict[str, object] = {"symbol": SYMBOL, "side": Side.SELL, "qty": Decimal("0.1"),
                                 "price": Decimal("1250.5"), "client_order_id": 1767225600123,
                                 "reduce_only": True}
    fields.update(overrides)
    return OrderRequest(**fields)  # type: ignore[arg-type]


def test_the_order_body_reproduces_the_worked_example_and_its_signature() -> None:
    """Pitfalls 1, 11: integer clientOrderId, numbers on the grid, reduceOnly 1."""
    body = orders.order_body(_request())
    assert json.dumps(body, separators=(",", ":")) == (
        '{"symbol":"BTCUSD-27FEB26-90000-C","tradeSide":2,"tradeType":1,"qty":0.1,'
        '"price":1250.5,"timeInForce":"GTC","clientOrderId":1767225600123,"reduceOnly":1}')
    assert signature("POST", "/open/option/order/create/v1", body, api_key=KEY, secret=SECRET,
                     ts_ms=1767225600000) == (
        "003497115DA415B17470478B79915940029A544F670148063DB1E0414FF4D82B")


def test_an_opening_post_only_buy_is_a_tradetype_3_without_reduce_only() -> None:
    body = orders.order_body(_request(side=Side.BUY, reduce_only=False, post_only=True,
                                      price=Decimal("1300"), time_in_force=TimeInForce.IOC))
    assert body["tradeSide"] == 1
    assert body["tradeType"] == 3
    assert body["price"] == 1300
    assert isinstance(body["price"], int)
    assert body["timeInForce"] == "IOC"
    assert "reduceOnly" not in body


@pytest.mark.parametrize("price", [Decimal(0), Decimal("-1"), Decimal("0.1000000000000000000001")])
def test_a_price_that_cannot_travel_exactly_is_refused_not_rounded(price: Decimal) -> None:
    with pytest.raises(ValueError, match="price"):
        orders.order_body(_request(price=price))


def test_f3_f6_the_order_body_sends_the_cores_usd_price_exactly_unconverted_unrounded() -> None:
    """F3: a small price travels with every digit (0.0035 stays 0.0035, never 0.00).
    F6: the adapter sends the core's price as it is: USD per coin, the denomination of
    Coincall's option prices; nothing converts or rescales it on the way out."""
    assert orders.order_body(_request(price=Decimal("0.0035")))["price"] == 0.0035
    assert orders.order_body(_request(price=Decimal("1250.5")))["price"] == 1250.5


def test_order_references_are_json_integers_and_exactly_one_is_required() -> None:
    assert orders.order_reference(order_id=1983131927527428096, client_order_id=None) == {
        "orderId": 1983131927527428096}
    assert orders.order_reference(order_id=None, client_order_id=7) == {"clientOrderId": 7}
    with pytest.raises(ValueError, match="exactly one"):
        orders.order_reference(order_id=1, client_order_id=2)


@pytest.mark.parametrize("data", [1983131927527428096, "1983131927527428096",
                                  {"orderId": "1983131927527428096"}])
def test_the_create_answer_is_an_order_id_as_number_or_string(data: object) -> None:
    assert orders.order_id(data) == 1983131927527428096


@pytest.mark.parametrize("data", [None, "abc", 1.5e18, True])
def test_an_unreadable_order_id_is_malformed(data: object) -> None:
    with pytest.raises(MalformedResponse, match="place order"):
        orders.order_id(data)


def test_the_documented_single_query_becomes_a_filled_order(doc: SimpleNamespace) -> None:
    order = orders.order(doc.single_order)
    assert order.order_id == 1983131927527428096
    assert order.client_order_id == 1767225600123
    assert order.side is Side.SELL
    assert order.status is OrderStatus.FILLED
    assert order.qty == Decimal("0.1")
    assert order.filled_qty == Decimal("0.1")
    assert order.remaining_qty == 0
    assert order.avg_price == Decimal("1250.5")
    assert order.reduce_only
    assert order.fee == Decimal("0.05")


@pytest.mark.parametrize(("state", "status"), [
    (-10, OrderStatus.REJECTED), (-1, OrderStatus.PENDING), (0, OrderStatus.NEW),
    (1, OrderStatus.FILLED), (2, OrderStatus.PARTIALLY_FILLED), (3, OrderStatus.CANCELED),
    (4, OrderStatus.CANCELING), (5, OrderStatus.CANCELING), (6, OrderStatus.REJECTED),
    (10, OrderStatus.CANCELED_BY_EXERCISE), ("3", OrderStatus.CANCELED)])
def test_every_documented_order_state_maps_to_a_status(
        doc: SimpleNamespace, state: object, status: OrderStatus) -> None:
    doc.single_order["state"] = state
    assert orders.order(doc.single_order).status is status


def test_an_unknown_order_state_is_malformed_and_named(doc: SimpleNamespace) -> None:
    doc.single_order["state"] = 7
    with pytest.raises(MalformedResponse, match=r"data\.state"):
        orders.order(doc.single_order)


def test_pending_rows_have_no_state_so_the_fill_decides_new_or_partial() -> None:
    page = {"list": [
        {"orderId": "11", "clientOrderId": "21", "symbol": SYMBOL, "qty": "1", "remainQty": "1",
         "fillQty": "0", "price": "1200", "avgPrice": "0", "tradeSide": 1, "tradeType": 1,
         "reduceOnly": 0, "createTime": 1767225600000},
        {"orderId": 12, "clientOrderId": 22, "symbol": PUT, "qty": 1, "remainQty": 0.6,
         "fillQty": 0.4, "price": 900, "avgPrice": 900, "tradeSide": 2, "tradeType": 1}],
        "pageTotal": 3, "total": 2}
    found, pages = orders.open_orders(page)
    assert pages == 3
    assert [(o.order_id, o.status) for o in found] == [
        (11, OrderStatus.NEW), (12, OrderStatus.PARTIALLY_FILLED)]
    assert found[0].created_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert found[1].filled_qty == Decimal("0.4")
    assert found[1].side is Side.SELL


def test_trade_history_rows_become_fills() -> None:
    page = {"list": [{"tradeId": "31", "orderId": 11, "symbol": SYMBOL, "tradeSide": 2,
                      "tradeType": 1, "price": "1250.5", "qty": "0.1", "fee": "0.05",
                      "time": 1767225601020, "reduceOnly": 1, "isTaker": 0}],
            "hasNext": True, "hasPre": False}
    [fill], has_next = orders.fills(page)
    assert has_next
    assert (fill.trade_id, fill.order_id, fill.side) == (31, 11, Side.SELL)
    assert fill.price == Decimal("1250.5")
    assert fill.fee == Decimal("0.05")
    assert not fill.is_taker
    assert fill.reduce_only


def test_positions_are_signed_from_the_unsigned_qty_and_trade_side(doc: SimpleNamespace) -> None:
    long_row = dict(doc.positions[0], symbol=PUT, qty="0.3", tradeSide=1, upnlByMarkPrice=None,
                    upnl="2.5")
    flat_row = dict(doc.positions[0], symbol="BTCUSD-27FEB26-70000-P", qty=0)
    short, long_ = account.positions([*doc.positions, long_row, flat_row])
    assert short.qty == Decimal("-0.1")
    assert long_.qty == Decimal("0.3")
    assert short.avg_price == Decimal("1250.5")
    assert short.mark_price == Decimal("1180.0")
    assert short.unrealized_pnl == Decimal("7.05")
    assert long_.unrealized_pnl == Decimal("2.5")
    assert short.greeks is not None
    assert short.greeks.delta == pytest.approx(-0.031)


def test_the_account_summary_reads_the_top_level_fields(doc: SimpleNamespace) -> None:
    summary = account.account(doc.account)
    assert summary.equity == Decimal("104233.51")
    assert summary.available_margin == Decimal("91820.07")
    assert summary.initial_margin == Decimal("12413.44")
    assert summary.maintenance_margin == Decimal("8690.12")
    assert summary.unrealized_pnl == Decimal("-42.10")


def test_the_account_summary_falls_back_to_the_usdt_entry() -> None:
    older = {"totalDollarValue": "1", "accounts": [
        {"coin": "BTC", "equityAmount": "1"},
        {"coin": "USDT", "equityAmount": "5000", "availableBalance": "4000", "imAmount": "700",
         "mmAmount": "300", "unrealizedAmount": "-5"}]}
    summary = account.account(older)
    assert (summary.equity, summary.available_margin) == (Decimal(5000), Decimal(4000))
    assert (summary.initial_margin, summary.maintenance_margin) == (Decimal(700), Decimal(300))
    assert summary.unrealized_pnl == Decimal(-5)


def test_an_account_summary_without_equity_anywhere_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="account summary"):
        account.account({"accounts": [{"coin": "BTC", "equityAmount": "1"}]})


def test_the_api_key_answer_says_whether_the_key_may_trade(doc: SimpleNamespace) -> None:
    assert not account.api_key_info(doc.api_key).read_only
    doc.api_key["readOnly"] = 1
    assert account.api_key_info(doc.api_key).read_only
    assert account.api_key_info({"userId": 1}).read_only  # unknown means refuse to trade


def test_the_rfq_create_body_reproduces_the_documented_signature() -> None:
    """Pitfall 4: request legs use `qty` strings with our side."""
    body = rfq.create_body([RfqLeg(SYMBOL, Side.SELL, Decimal("0.50")),
                            RfqLeg(PUT, Side.SELL, Decimal("0.5"))])
    assert body == {"legs": [{"instrumentName": SYMBOL, "side": "SELL", "qty": "0.5"},
                             {"instrumentName": PUT, "side": "SELL", "qty": "0.5"}]}
    assert signature("POST", "/open/option/blocktrade/request/create/v1", body, api_key=KEY,
                     secret=SECRET, ts_ms=1767225600000) == (
        "BF5A45F29DEB2C3BAA3C40D8BCBFB6E77AD1AB93DA793D41796D11C7AFED91A5")


def test_the_documented_rfq_create_answer_parses_with_our_sides(doc: SimpleNamespace) -> None:
    request = rfq.rfq(doc.rfq_created)
    assert request.request_id == "1983130719395909632"
    assert request.state is RfqState.ACTIVE
    assert [(leg.symbol, leg.side, leg.qty) for leg in request.legs] == [
        (SYMBOL, Side.SELL, Decimal("0.5")), (PUT, Side.SELL, Decimal("0.5"))]
    assert request.expires_at > request.created_at


def test_rfq_list_rows_use_quantity_and_are_found_under_rfqList() -> None:
    data = {"userId": 1, "rfqList": [{"requestId": 5, "state": "FILLED", "role": "TAKER",
                                      "createTime": 1, "expiryTime": 2,
                                      "legs": [{"instrumentName": PUT, "side": "BUY",
                                                "quantity": "0.8"}]}]}
    [request] = rfq.rfq_list(data)
    assert request.request_id == "5"
    assert request.state is RfqState.FILLED
    assert request.legs[0].qty == Decimal("0.8")


def test_the_documented_quotes_keep_the_makers_side_and_price_as_a_credit(
        doc: SimpleNamespace) -> None:
    """Pitfall 5: makers buy both legs, so accepting sells them: we receive 1072.5 USD."""
    [quote] = rfq.quotes(doc.quotes, "1983130719395909632")
    assert quote.state is QuoteState.OPEN
    assert all(leg.maker_side is Side.BUY for leg in quote.legs)
    assert quote.taker_cost() == Decimal("-1072.5")
    assert quote.matches_direction((RfqLeg(SYMBOL, Side.SELL, Decimal("0.5")),
                                    RfqLeg(PUT, Side.SELL, Decimal("0.5"))))


def test_no_quotes_yet_is_an_empty_list() -> None:
    assert rfq.quotes(None, "1") == []
    assert rfq.quotes([], "1") == []


def test_the_documented_accept_answer_carries_our_side_and_string_ids(
        doc: SimpleNamespace) -> None:
    trade = rfq.block_trade(doc.accepted)
    assert trade.block_trade_id == "1983131007357546498"
    assert trade.quote_id == "1983131007357546497"
    first = trade.legs[0]
    assert (first.side, first.price, first.qty, first.fee) == (
        Side.SELL, Decimal("1240"), Decimal("0.5"), Decimal("0.62"))
    assert first.order_id == 1983131927527428096
    assert first.trade_id == 1983131929700110336


def test_the_accept_body_is_the_two_ids_as_strings_signing_as_documented() -> None:
    body = rfq.accept_body("1983130719395909632", "1983131007357546497")
    assert signature("POST", "/open/option/blocktrade/request/accept/v1", body, api_key=KEY,
                     secret=SECRET, ts_ms=1767225600000) == (
        "DF63E10E24EC8124A1688A9B273E48E64CC538B56DCD64A8AECD7705B1E60435")


def test_an_unknown_rfq_state_is_malformed(doc: SimpleNamespace) -> None:
    doc.rfq_created["state"] = "PAUSED"
    with pytest.raises(MalformedResponse, match=r"rfq create: field data\.state"):
        rfq.rfq(doc.rfq_created)
