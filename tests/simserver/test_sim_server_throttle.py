"""The simulated exchange throttles as coincall-api.md section 7 says (issue 8, finding 6).

Each documented class has its budget in the venue's clock (a manual clock here, so the
windows are exact); a request over budget is answered HTTP 200 with code 10605 and
counted; calls the docs give no limit are never throttled; `rate_limits=False` turns it
off. The runner's own client, on a real clock against a real-time venue, never trips it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from helpers_simserver import KEY, SECRET, Caller, code_of, data_of

from runner.domain.clock import ManualClock, SystemClock
from runner.exchange.coincall.client import CoincallClient
from runner.service.settings import Secret
from runner.sim.server import SimServer
from runner.sim.throttle import VENUE_LIMITS
from runner.sim.venue import SimVenue

POSITIONS = "/open/option/position/get/v1"
PENDING = "/open/option/order/pending/v1"
ACCOUNT = "/open/account/summary/v1"
CANCEL = "/open/option/order/cancel/v1"
CREATE = "/open/option/order/create/v1"
DELIVERY = "/open/option/get-delivery-prices/v1"


def test_the_sixth_positions_call_within_a_second_is_answered_10605(
        server: SimServer, caller: Caller, sim_clock: ManualClock) -> None:
    for _ in range(5):
        assert data_of(caller.get(POSITIONS)) == []
    refused = caller.get(POSITIONS)
    assert refused.status_code == 200
    assert refused.json() == {"code": 10605, "msg": "Too frequent, please try again later",
                              "i18nArgs": None, "data": None}
    assert server.throttled == 1
    sim_clock.advance(timedelta(seconds=1))
    assert data_of(caller.get(POSITIONS)) == []


def test_positions_and_open_orders_share_one_budget(server: SimServer, caller: Caller) -> None:
    """The docs' table has one row "Get Position / Open Orders 5 / 1 s": one budget."""
    for _ in range(3):
        data_of(caller.get(POSITIONS))
    for _ in range(2):
        data_of(caller.get(PENDING, {"currency": "BTC"}))
    assert code_of(caller.get(PENDING, {"currency": "BTC"})) == 10605
    assert code_of(caller.get(POSITIONS)) == 10605
    assert server.throttle.refused_by_class() == {"positions and open orders": 2}


def test_account_information_allows_two_a_second(caller: Caller,
                                                 sim_clock: ManualClock) -> None:
    assert [code_of(caller.get(ACCOUNT)) for _ in range(3)] == [0, 0, 10605]
    sim_clock.advance(timedelta(milliseconds=999))
    assert code_of(caller.get(ACCOUNT)) == 10605
    sim_clock.advance(timedelta(milliseconds=1))
    assert code_of(caller.get(ACCOUNT)) == 0


def test_a_refused_request_does_not_use_up_the_budget(server: SimServer, caller: Caller,
                                                      sim_clock: ManualClock) -> None:
    for _ in range(2):
        data_of(caller.get(ACCOUNT))
    sim_clock.advance(timedelta(milliseconds=500))
    assert code_of(caller.get(ACCOUNT)) == 10605
    sim_clock.advance(timedelta(milliseconds=500))
    assert [code_of(caller.get(ACCOUNT)) for _ in range(2)] == [0, 0]
    assert server.throttled == 1


def test_place_and_cancel_have_a_budget_of_thirty_per_two_seconds_each(
        caller: Caller) -> None:
    """Two rows of the docs' table, 30 / 2 s each; the venue judges what passes."""
    cancels = [code_of(caller.post_json(CANCEL, {"orderId": 1000 + n})) for n in range(31)]
    assert cancels == [10584] * 30 + [10605]
    order = {"symbol": "BTCUSD-NOPE", "qty": 0.1, "tradeSide": 1, "tradeType": 1,
             "price": 5, "clientOrderId": 77}
    assert code_of(caller.post_json(CREATE, order)) != 10605


def test_a_bad_signature_is_refused_as_such_and_costs_no_budget(server: SimServer,
                                                                caller: Caller) -> None:
    for _ in range(2):
        assert code_of(caller.get(ACCOUNT, sign="0" * 64)) == 10006
    assert [code_of(caller.get(ACCOUNT)) for _ in range(2)] == [0, 0]
    assert code_of(caller.get(ACCOUNT, sign="0" * 64)) == 10006
    assert server.throttled == 0


def test_delivery_prices_allow_one_a_second_per_address(server: SimServer,
                                                        sim_clock: ManualClock) -> None:
    url = server.base_url + DELIVERY
    codes = [requests.get(url, params={"symbol": "BTCUSD"}, timeout=5).json()["code"]
             for _ in range(2)]
    assert codes == [0, 10605]
    sim_clock.advance(timedelta(seconds=1))
    assert requests.get(url, params={"symbol": "BTCUSD"}, timeout=5).json()["code"] == 0


def test_calls_the_docs_give_no_limit_are_never_throttled(server: SimServer,
                                                          caller: Caller) -> None:
    for _ in range(40):
        data_of(caller.get("/open/option/getInstruments/BTC"))
        data_of(caller.get("/time"))
    assert server.throttled == 0


def test_every_limit_is_the_documented_one() -> None:
    """coincall-api.md section 7, written from the docs (not from the adapter's classes)."""
    table = {limit.name: (limit.calls, limit.per_seconds) for limit in VENUE_LIMITS}
    assert table == {
        "public config": (10, 2.0), "positions and open orders": (5, 1.0),
        "order history and transactions": (5, 1.0), "account information": (2, 1.0),
        "orderbook": (30, 2.0), "place order": (30, 2.0), "cancel order": (30, 2.0),
        "delivery prices": (1, 1.0),
    }


@pytest.fixture
def unlimited(venue: SimVenue, sim_clock: ManualClock) -> Iterator[SimServer]:
    with SimServer(venue, KEY, SECRET, sim_clock, rate_limits=False) as running:
        yield running


def test_without_rate_limits_nothing_is_throttled(unlimited: SimServer,
                                                  sim_clock: ManualClock) -> None:
    caller = Caller(unlimited.base_url, sim_clock)
    try:
        assert {code_of(caller.get(ACCOUNT)) for _ in range(20)} == {0}
    finally:
        caller.close()
    assert not unlimited.throttle.enabled
    assert unlimited.throttled == 0


def test_the_runners_client_on_a_real_clock_never_trips_the_venue() -> None:
    """Measured before the fix: 3 to 5 refusals in these 17 calls (the limiter counted
    a call from when it left; the venue counts it when it arrives, a little later)."""
    clock = SystemClock()
    with SimServer(SimVenue(clock, seed=1), KEY, SECRET, clock) as running, CoincallClient(
            base_url=running.base_url, api_key=Secret(KEY), api_secret=Secret(SECRET),
            clock=clock) as client:
        for _ in range(12):
            client.positions()
        for _ in range(5):
            client.account()
        assert running.throttled == 0
