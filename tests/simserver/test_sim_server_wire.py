"""The simulator answers with Coincall's paths, envelope, body types, fields and codes.

Field lists are those of coincall-api.md section 6 (the documented examples), so a
client written from the document parses the simulator (lessons D1: real-shaped payloads).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from helpers_simserver import (
    KEY,
    ORDER_CREATE,
    SECRET,
    SINGLE_QUERY,
    Caller,
    code_of,
    data_of,
    near_money_call,
    resting_buy,
)

from runner.domain.clock import ManualClock
from runner.sim.access import KeyAccess
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue

RFQ = "/open/option/blocktrade"
ORDER_KEYS = {"orderId", "clientOrderId", "symbol", "displayName", "qty", "fillQty",
              "remainQty", "price", "avgPrice", "tradeSide", "tradeType", "reduceOnly", "fee",
              "createTime", "updateTime", "mmp", "state"}


def test_an_unknown_path_is_http_404(caller: Caller) -> None:
    assert caller.get("/open/option/order/nothing/v1").status_code == 404


def test_a_known_path_with_the_wrong_method_answers_10009(caller: Caller) -> None:
    response = caller.get(ORDER_CREATE)
    assert response.status_code == 200
    assert code_of(response) == 10009


def test_every_answer_has_the_coincall_envelope(caller: Caller) -> None:
    payload = caller.get("/time").json()
    assert payload == {"code": 0, "msg": "Success", "i18nArgs": None,
                       "data": {"serverTime": 1767225600000}}


def test_rfq_accept_and_cancel_in_form_answer_10004_by_default(caller: Caller,
                                                                sim_clock: ManualClock) -> None:
    """Pitfall 3: the default server takes the documented JSON (2026-07 docs) and refuses
    FORM with 10004 "Parameter illegal", nothing executed."""
    created, quotes = open_rfq(caller, sim_clock)
    accept = caller.post_form(f"{RFQ}/request/accept/v1", {
        "requestId": created["requestId"], "quoteId": quotes[0]["quoteId"]})
    cancel = caller.post_form(f"{RFQ}/request/cancel/v1", {"requestId": created["requestId"]})
    assert [(r.json()["code"], r.json()["msg"]) for r in (accept, cancel)] == [
        (10004, "Parameter illegal")] * 2
    assert data_of(caller.get(f"{RFQ}/request/getQuotesReceived/v1",
                              {"requestId": created["requestId"]}))


def test_a_form_body_sent_to_a_json_endpoint_answers_10004(caller: Caller) -> None:
    symbol = near_money_call(caller)["symbol"]
    assert code_of(caller.post_form(ORDER_CREATE, resting_buy(symbol, 1))) == 10004


def open_rfq(caller: Caller, sim_clock: ManualClock) -> tuple[dict, list[dict]]:
    symbol = near_money_call(caller)["symbol"]
    created = data_of(caller.post_json(f"{RFQ}/request/create/v1", {
        "legs": [{"instrumentName": symbol, "side": "BUY", "qty": "1"}]}))
    sim_clock.advance(timedelta(seconds=30))
    quotes = data_of(caller.get(f"{RFQ}/request/getQuotesReceived/v1",
                                {"requestId": created["requestId"]}))
    return created, quotes


def test_the_rfq_taker_flow_speaks_coincall(caller: Caller, sim_clock: ManualClock) -> None:
    created, quotes = open_rfq(caller, sim_clock)
    assert set(created) == {"requestId", "createTime", "expiryTime", "state", "legs"}
    assert isinstance(created["requestId"], str)
    assert created["state"] == "ACTIVE"
    assert set(created["legs"][0]) == {"instrumentName", "qty", "side"}
    assert quotes
    quote = quotes[0]
    assert {"quoteId", "requestId", "state", "expiryTime", "legs"} <= set(quote)
    assert set(quote["legs"][0]) == {"instrumentName", "side", "price", "quantity"}
    assert isinstance(quote["legs"][0]["price"], str)
    accepted = data_of(caller.post_json(f"{RFQ}/request/accept/v1", {
        "requestId": created["requestId"], "quoteId": quote["quoteId"]}))
    assert accepted["role"] == "TAKER"
    assert {"blockTradeId", "requestId", "quoteId", "role", "legs"} <= set(accepted)
    assert {"instrumentName", "side", "price", "quantity", "fee", "orderId",
            "tradeId"} <= set(accepted["legs"][0])
    listed = caller.get(f"{RFQ}/rfqList/v1", {"requestId": created["requestId"]})
    assert listed.status_code == 404  # the default key is a taker key, as live (pitfall 7)
    detail = data_of(caller.get(f"{RFQ}/trade-detail/private/v1", {"pageSize": 20}))
    assert [row["blockTradeId"] for row in detail["list"]] == [accepted["blockTradeId"]]


def test_accept_takes_the_numeric_ids_of_the_2026_07_docs_example(caller: Caller,
                                                        sim_clock: ManualClock) -> None:
    created, quotes = open_rfq(caller, sim_clock)
    accepted = data_of(caller.post_json(f"{RFQ}/request/accept/v1", {
        "requestId": int(created["requestId"]), "quoteId": int(quotes[0]["quoteId"])}))
    assert accepted["quoteId"] == quotes[0]["quoteId"]


@pytest.fixture
def maker_caller(venue: SimVenue, sim_clock: ManualClock) -> Iterator[Caller]:
    """A caller whose key has RFQ quote access: rfqList is served."""
    with SimServer(venue, KEY, SECRET, sim_clock, key_access=KeyAccess.MAKER) as server:
        client = Caller(server.base_url, sim_clock)
        yield client
        client.close()


def test_rfq_list_is_http_404_for_a_taker_key_and_served_to_a_maker_key(
        caller: Caller, maker_caller: Caller, sim_clock: ManualClock) -> None:
    created, _quotes = open_rfq(caller, sim_clock)
    refused = caller.get(f"{RFQ}/rfqList/v1", {"requestId": created["requestId"]})
    assert refused.status_code == 404
    listed = data_of(maker_caller.get(f"{RFQ}/rfqList/v1", {"requestId": created["requestId"]}))
    assert [r["state"] for r in listed["rfqList"]] == ["ACTIVE"]


def test_cancelling_a_request_by_json_answers_true(maker_caller: Caller,
                                                   sim_clock: ManualClock) -> None:
    caller = maker_caller
    created, _quotes = open_rfq(caller, sim_clock)
    assert data_of(caller.post_json(f"{RFQ}/request/cancel/v1",
                                    {"requestId": int(created["requestId"])})) is True
    listed = data_of(caller.get(f"{RFQ}/rfqList/v1", {"state": "CLOSED"}))
    assert [(r["requestId"], r["state"]) for r in listed["rfqList"]] == [
        (created["requestId"], "CANCELLED")]


def test_market_data_has_the_documented_fields(caller: Caller) -> None:
    config = data_of(caller.get("/open/public/config/v1"))["optionConfig"]
    assert set(config) == {"BTCUSD", "ETHUSD"}
    assert {"takerFee", "makerFee", "tickSize", "qtyDecimal", "priceDecimal", "multiplier",
            "limitMaxQty", "marketMaxQty", "maxPositionQty", "maxOrderNumber", "settle",
            "base"} <= set(config["BTCUSD"])
    instrument = data_of(caller.get("/open/option/getInstruments/BTC"))[0]
    assert {"symbolName", "baseCurrency", "strike", "expirationTimestamp", "isActive",
            "minQty", "tickSize"} <= set(instrument)
    option = near_money_call(caller)
    assert {"symbol", "displayName", "optionId", "type", "strike", "endTime", "bid",
            "bidSize", "bidIv", "ask", "askSize", "askIv", "markPrice", "markIv", "lastPrice",
            "lastPriceIv", "underlyingPrice", "delta", "gamma", "vega", "theta", "rho",
            "volume", "openInterest", "changeRate", "breakeven"} <= set(option)
    detail = data_of(caller.get(f"/open/option/detail/v1/{option['symbol']}"))
    assert {"symbol", "index", "endTime", "remainTime", "strike", "type", "markPrice",
            "lastPrice", "iv", "indexPrice", "underlyingPrice", "delta", "gamma", "vega",
            "theta", "rho", "multiplier", "openInterest", "volume24h", "breakeven", "bid",
            "ask"} <= set(detail)
    assert "impliedVolatility" not in detail  # pitfall 16
    book = data_of(caller.get(f"/open/option/order/orderbook/v1/{option['symbol']}"))
    assert book["optionName"] == option["symbol"]
    assert all(isinstance(level["price"], str) and isinstance(level["size"], str)
               for level in book["bids"] + book["asks"])
    assert "mark" not in book  # pitfall 15


def test_an_order_is_acked_with_an_integer_id_and_queried_with_every_field(
        caller: Caller) -> None:
    symbol = near_money_call(caller)["symbol"]
    order_id = data_of(caller.post_json(ORDER_CREATE, resting_buy(symbol, 21)))
    assert isinstance(order_id, int)
    by_id = data_of(caller.get(SINGLE_QUERY, {"orderId": order_id}))
    by_client_id = data_of(caller.get(SINGLE_QUERY, {"clientOrderId": 21}))
    assert by_id == by_client_id
    assert set(by_id) == ORDER_KEYS
    assert (by_id["state"], by_id["tradeSide"], by_id["clientOrderId"]) == (0, 1, 21)
    pending = data_of(caller.get("/open/option/order/pending/v1", {"currency": "BTC"}))
    assert (pending["total"], pending["pageTotal"]) == (1, 1)
    assert "state" not in pending["list"][0]


def test_cancels_answer_success_then_11101_and_fills_answer_11102(caller: Caller) -> None:
    option = near_money_call(caller)
    resting = data_of(caller.post_json(ORDER_CREATE, resting_buy(option["symbol"], 31)))
    cancel = "/open/option/order/cancel/v1"
    assert data_of(caller.post_json(cancel, {"orderId": resting})) == "success"
    assert code_of(caller.post_json(cancel, {"orderId": resting})) == 11101
    sold = {"symbol": option["symbol"], "qty": 0.1, "tradeSide": 2, "tradeType": 1,
            "price": option["bid"], "clientOrderId": 32}
    data_of(caller.post_json(ORDER_CREATE, sold))
    assert code_of(caller.post_json(cancel, {"clientOrderId": 32})) == 11102
    assert code_of(caller.post_json(cancel, {"orderId": 1})) == 10584
    assert code_of(caller.post_json(cancel, {})) == 10575


@pytest.mark.parametrize(("change", "code"), [
    ({"price": None}, 10530),
    ({"qty": None}, 10533),
    ({"timeInForce": "DAY"}, 12012),
    ({"tradeSide": 3}, 10004),
    ({"tradeType": 2}, 10004),
])
def test_a_malformed_order_answers_coincalls_code(caller: Caller, change: dict,
                                                  code: int) -> None:
    body = {**resting_buy(near_money_call(caller)["symbol"], 41), **change}
    body = {key: value for key, value in body.items() if value is not None}
    assert code_of(caller.post_json(ORDER_CREATE, body)) == code


def test_account_numbers_are_strings_and_positions_carry_their_side(caller: Caller) -> None:
    option = near_money_call(caller)
    data_of(caller.post_json(ORDER_CREATE, {
        "symbol": option["symbol"], "qty": 0.2, "tradeSide": 2, "tradeType": 1,
        "price": option["bid"], "clientOrderId": 51}))
    position = data_of(caller.get("/open/option/position/get/v1"))[0]
    assert (position["symbol"], position["qty"], position["tradeSide"]) == (
        option["symbol"], 0.2, 2)
    summary = data_of(caller.get("/open/account/summary/v1"))
    for key in ("equity", "availableMargin", "imAmount", "mmAmount", "unrealizedPnL"):
        assert isinstance(summary[key], str), key
    assert summary["accounts"][0]["coin"] == "USDT"
    fills = data_of(caller.get("/open/option/trade/history/v1", {"pageSize": 10}))
    assert [row["orderId"] for row in fills["list"]] == [
        data_of(caller.get(SINGLE_QUERY, {"clientOrderId": 51}))["orderId"]]


def test_the_api_key_answer_says_it_may_trade(caller: Caller) -> None:
    info = data_of(caller.get("/open/auth/user/query-api"))
    assert (info["readOnly"], info["parentUid"]) == (0, "0")


def test_the_server_listens_on_loopback_only(server: SimServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert requests.get(f"{server.base_url}/time", timeout=5).ok


def test_histories_come_from_the_venue_records(maker_caller: Caller,
                                               sim_clock: ManualClock) -> None:
    """A cancelled order without fills is in the order history; block legs are type 14."""
    caller = maker_caller
    option = near_money_call(caller)
    resting = data_of(caller.post_json(ORDER_CREATE, resting_buy(option["symbol"], 61)))
    data_of(caller.post_json("/open/option/order/cancel/v1", {"orderId": resting}))
    created, quotes = open_rfq(caller, sim_clock)
    data_of(caller.post_json(f"{RFQ}/request/accept/v1", {
        "requestId": created["requestId"], "quoteId": quotes[0]["quoteId"]}))
    history = data_of(caller.get("/open/option/order/history/v1", {"pageSize": 50}))["list"]
    assert [(row["state"], row["tradeType"]) for row in history] == [(1, 14), (3, 1)]
    fills = data_of(caller.get("/open/option/trade/history/v1", {"pageSize": 50}))["list"]
    assert [row["tradeType"] for row in fills] == [14]
    assert fills[0]["iv"] > 0
    assert fills[0]["indexPrice"] > 0
    listed = data_of(caller.get(f"{RFQ}/rfqList/v1", {}))["rfqList"]
    assert [row["requestId"] for row in listed] == [created["requestId"]]
    instrument = data_of(caller.get("/open/option/getInstruments/BTC"))[0]
    assert instrument["startTimestamp"] <= instrument["expirationTimestamp"]


def raw_post(server: SimServer, content_length: str) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(f"POST {ORDER_CREATE} HTTP/1.1\r\nHost: x\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {content_length}"
                     "\r\n\r\n".encode())  # no body: refused before reading
        received = b""
        while chunk := conn.recv(4096):  # the server closes after refusing
            received += chunk
        return received


@pytest.mark.parametrize(("content_length", "status"), [
    ("x", b"400"), ("-5", b"400"), (str(10**9), b"413"), (str(64 * 1024 + 1), b"413")])
def test_an_oversized_or_unreadable_body_length_is_refused(
        server: SimServer, content_length: str, status: bytes) -> None:
    answer = raw_post(server, content_length)
    assert answer.startswith(b"HTTP/1.1 " + status)
    assert b'"code":10004' in answer
