"""The simulator's answers have the documented shapes: the same keys and JSON types as the
docs' own examples (tests/exchange/contract/fixtures), recursively.

One sim-server on loopback is driven once through every call the adapter makes (market
data, an order resting then cancelled, an order filled, an RFQ accepted, one cancelled,
settlements); each answer's `data` is then compared with its fixture. Numbers and strings
are different types here (issue 8 finding 10: the futures list, account totals). Keys the
docs do not show are refused unless a live client saw them (LIVE_EXTRAS, with its source
in docs/exchange-evidence.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from helpers_contract import documented, fixture_names, shape_differences
from helpers_simserver import KEY, SECRET, WORKED_TS, Caller, data_of, near_money_call

from runner.domain.clock import ManualClock, from_epoch_ms
from runner.sim import wire_out
from runner.sim.faults import FaultPlan
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue

RFQ = "/open/option/blocktrade"
ORDERS = "/open/option/order"
LIVE_EXTRAS: dict[str, frozenset[str]] = {
    "instruments": frozenset({"startTimestamp"}),  # [API] 6.1, live
    "option_detail": frozenset({"bid", "ask"}),  # [CT] snapshots, Mar 2026
    "positions": frozenset({"upnlByMarkPrice", "roiByMarkPrice", "lastPrice"}),  # [CT]
}


def _post_either(caller: Caller, path: str, fields: dict[str, Any]) -> Any:
    """An RFQ accept/cancel in JSON, else FORM: whichever the simulator is set to take."""
    answer = caller.post_json(path, fields)
    if answer.json().get("code") == 10004:
        answer = caller.post_form(path, fields)
    return data_of(answer)


def _market(caller: Caller, answers: dict[str, Any]) -> dict[str, Any]:
    answers["server_time"] = data_of(caller.get("/time"))
    answers["instruments"] = data_of(caller.get("/open/option/getInstruments/BTC"))
    option = near_money_call(caller)
    answers["option_chain"] = data_of(caller.get("/open/option/get/v1/BTCUSD",
                                                 {"endTime": option["endTime"]}))
    answers["option_detail"] = data_of(caller.get(f"/open/option/detail/v1/{option['symbol']}"))
    answers["orderbook"] = data_of(caller.get(f"{ORDERS}/orderbook/v1/{option['symbol']}"))
    answers["futures_symbol"] = data_of(caller.get("/open/futures/market/symbol/v1",
                                                   {"symbol": "BTCUSD"}))
    answers["delivery_prices"] = data_of(caller.get("/open/option/get-delivery-prices/v1",
                                                    {"symbol": "BTCUSD"}))
    return option


def _orders(caller: Caller, option: dict[str, Any], answers: dict[str, Any]) -> None:
    resting = {"symbol": option["symbol"], "qty": 0.1, "tradeSide": 1, "tradeType": 1,
               "price": 5, "clientOrderId": 101}
    answers["place_order"] = order_id = data_of(caller.post_json(f"{ORDERS}/create/v1", resting))
    answers["single_order"] = data_of(caller.get(f"{ORDERS}/singleQuery/v1",
                                                 {"orderId": order_id}))
    answers["open_orders"] = data_of(caller.get(f"{ORDERS}/pending/v1", {"currency": "BTC"}))
    answers["cancel_order"] = data_of(caller.post_json(f"{ORDERS}/cancel/v1",
                                                       {"orderId": order_id}))
    data_of(caller.post_json(f"{ORDERS}/create/v1", {
        "symbol": option["symbol"], "qty": 0.2, "tradeSide": 2, "tradeType": 1,
        "price": option["bid"], "clientOrderId": 102}))
    answers["trade_history"] = data_of(caller.get("/open/option/trade/history/v1",
                                                  {"pageSize": 20}))
    answers["positions"] = data_of(caller.get("/open/option/position/get/v1"))
    answers["account_summary"] = data_of(caller.get("/open/account/summary/v1"))
    answers["api_key_info"] = data_of(caller.get("/open/auth/user/query-api"))


def _rfqs(caller: Caller, clock: ManualClock, venue: SimVenue, option: dict[str, Any],
          answers: dict[str, Any]) -> None:
    legs = {"legs": [{"instrumentName": option["symbol"], "side": "BUY", "qty": "1"}]}
    answers["rfq_create"] = created = data_of(caller.post_json(f"{RFQ}/request/create/v1", legs))
    clock.advance(timedelta(seconds=30))
    answers["rfq_quotes"] = quotes = data_of(caller.get(f"{RFQ}/request/getQuotesReceived/v1",
                                                        {"requestId": created["requestId"]}))
    answers["rfq_accept"] = _post_either(caller, f"{RFQ}/request/accept/v1", {
        "requestId": created["requestId"], "quoteId": quotes[0]["quoteId"]})
    answers["block_trades"] = data_of(caller.get(f"{RFQ}/trade-detail/private/v1",
                                                 {"fromId": 0, "pageSize": 20}))
    other = data_of(caller.post_json(f"{RFQ}/request/create/v1", legs))
    answers["rfq_cancel"] = _post_either(caller, f"{RFQ}/request/cancel/v1",
                                         {"requestId": other["requestId"]})
    listed = venue.rfq_view(created["requestId"])
    assert listed is not None
    # rfqList answers 404 to a taker key on Coincall: its encoder is checked directly.
    answers["rfq_list"] = {"userId": str(1695796692726153),
                           "rfqList": [wire_out.rfq_listed(listed, clock.now())]}


def _exercises(caller: Caller, clock: ManualClock, option: dict[str, Any],
               answers: dict[str, Any]) -> None:
    """The position left by the orders and the RFQ, settled at its expiry (finding 12)."""
    clock.set(from_epoch_ms(option["endTime"]) + timedelta(minutes=1))
    answers["exercise_history"] = found = data_of(caller.get(
        "/open/settle/exercise/history/v1", {"pageSize": 20}))
    assert [row["symbol"] for row in found["list"]] == [option["symbol"]]


@pytest.fixture(scope="module")
def answers() -> Iterator[dict[str, Any]]:
    """The simulator's `data` for every fixture, from one session through real HTTP."""
    clock = ManualClock(from_epoch_ms(WORKED_TS))
    venue = SimVenue(clock, seed=7)
    with SimServer(venue, KEY, SECRET, clock, FaultPlan(seed=11)) as server:
        caller = Caller(server.base_url, clock)
        found: dict[str, Any] = {}
        option = _market(caller, found)
        _orders(caller, option, found)
        _rfqs(caller, clock, venue, option, found)
        _exercises(caller, clock, option, found)  # last: it moves the clock past expiry
        caller.close()
        yield found


def test_every_fixture_is_exercised() -> None:
    assert set(fixture_names()) == {
        "server_time", "instruments", "option_chain", "option_detail", "orderbook",
        "futures_symbol", "delivery_prices", "place_order", "cancel_order", "single_order",
        "open_orders", "trade_history", "exercise_history", "positions", "account_summary",
        "api_key_info",
        "rfq_create", "rfq_quotes", "rfq_accept", "rfq_cancel", "rfq_list", "block_trades"}


@pytest.mark.parametrize("name", fixture_names())
def test_the_simulator_answers_in_the_documented_shape(name: str,
                                                       answers: dict[str, Any]) -> None:
    differences = shape_differences(documented(name), answers[name],
                                    live_extras=LIVE_EXTRAS.get(name, frozenset()))
    assert differences == [], "\n".join(differences)


def test_the_futures_market_is_a_list_narrowed_by_symbol_finding_10(caller: Caller) -> None:
    everything = data_of(caller.get("/open/futures/market/symbol/v1"))
    assert [row["symbol"] for row in everything] == ["BTCUSD", "ETHUSD"]
    (btc,) = data_of(caller.get("/open/futures/market/symbol/v1", {"symbol": "BTCUSD"}))
    assert btc["symbol"] == "BTCUSD"
    assert isinstance(btc["indexPrice"], float | int)
    assert btc["indexPrice"] == btc["markPrice"] == everything[0]["indexPrice"]
