"""The simulated exchange verifies signatures exactly as coincall-api.md 3.1/3.2 describe.

The server's clock stands at the worked example's TS (2026-01-01T00:00:00Z), so the
documented vectors can be replayed byte for byte with their documented `sign` values.
An answer other than a signature, key or timestamp error proves the signature passed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from helpers_simserver import (
    KEY,
    SECRET,
    WORKED_BODY,
    WORKED_SIGN,
    WORKED_TS,
    Caller,
    code_of,
    data_of,
)

from runner.domain.clock import ManualClock
from runner.sim.server import SimServer
from runner.sim.wire_in import Credentials

AUTH_CODES = {10006, 10557, 10560, 10561}


def doc_headers(sign: str, content_type: str | None = None) -> dict[str, str]:
    headers = {"X-CC-APIKEY": KEY, "sign": sign, "ts": str(WORKED_TS), "X-REQ-TS-DIFF": "5000"}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def test_the_worked_example_is_accepted_byte_for_byte(server: SimServer) -> None:
    """The documented body, headers and sign reach the venue, which judges the order itself."""
    response = requests.post(f"{server.base_url}/open/option/order/create/v1",
                             data=WORKED_BODY.encode(),
                             headers=doc_headers(WORKED_SIGN, "application/json"), timeout=5)
    assert response.status_code == 200
    payload = response.json()
    assert set(payload) == {"code", "msg", "i18nArgs", "data"}
    # reduceOnly=1 with no position: the venue refuses the order, not the signature
    assert payload["code"] == 10536


@pytest.mark.parametrize(("method", "target", "body", "content_type", "sign"), [
    ("GET", "/open/option/order/pending/v1?pageSize=50&page=1&currency=BTC", None, None,
     "E5F756350653DC2AE0A788D5D3CF0E4707EFD733412EE651BFC7CEE082E734B6"),
    ("GET", "/open/option/position/get/v1", None, None,
     "E267B031FBE3ED1FFD09FA4E7ADA480586A42CB33DD47E2734B50B2A848F6686"),
    ("GET", "/open/option/detail/v1/BTCUSD-27FEB26-90000-C", None, None,
     "F9C36BD8ED47C52538F6F902F869D1ED529A35FEBC4621ADF6A84B15B95F3226"),
    ("POST", "/open/option/order/cancel/v1", '{"orderId":1983131927527428096}',
     "application/json", "C55CAE2E1E3098AF710BC43967B5F399A0B7EFF8FF5629F26F748061A75DA24B"),
    ("POST", "/open/option/blocktrade/request/create/v1",
     '{"legs":[{"instrumentName":"BTCUSD-27FEB26-90000-C","side":"SELL","qty":"0.5"},'
     '{"instrumentName":"BTCUSD-27FEB26-80000-P","side":"SELL","qty":"0.5"}]}',
     "application/json", "BF5A45F29DEB2C3BAA3C40D8BCBFB6E77AD1AB93DA793D41796D11C7AFED91A5"),
    ("POST", "/open/option/blocktrade/request/accept/v1",
     "requestId=1983130719395909632&quoteId=1983131007357546497",
     "application/x-www-form-urlencoded",
     "DF63E10E24EC8124A1688A9B273E48E64CC538B56DCD64A8AECD7705B1E60435"),
])
def test_every_documented_signing_vector_passes_verification(
        server: SimServer, method: str, target: str, body: str | None,
        content_type: str | None, sign: str) -> None:
    response = requests.request(method, server.base_url + target,
                                data=body.encode() if body else None,
                                headers=doc_headers(sign, content_type), timeout=5)
    assert response.status_code == 200
    assert code_of(response) not in AUTH_CODES, response.text


def test_a_wrong_signature_is_refused_with_10006(caller: Caller) -> None:
    response = caller.get("/open/option/position/get/v1", sign="0" * 64)
    assert response.json() == {"code": 10006, "msg": "Sign illegal", "i18nArgs": None,
                               "data": None}


def test_a_signature_over_other_parameters_is_refused(server: SimServer,
                                                      caller: Caller) -> None:
    """The prehash is rebuilt from what arrived: a tampered query no longer matches."""
    headers = caller.headers("GET", "/open/option/order/pending/v1", {"page": 1})
    response = requests.get(f"{server.base_url}/open/option/order/pending/v1",
                            params={"page": 2}, headers=headers, timeout=5)
    assert code_of(response) == 10006


def test_an_unknown_key_is_refused_with_10560(caller: Caller) -> None:
    response = caller.get("/open/option/position/get/v1", key="someone-else")
    assert code_of(response) == 10560


def test_an_unsigned_private_call_is_refused(server: SimServer) -> None:
    response = requests.get(f"{server.base_url}/open/option/position/get/v1", timeout=5)
    assert code_of(response) == 10560


@pytest.mark.parametrize("offset_ms", [-5001, -60_000, 1000, 5000])
def test_a_timestamp_outside_the_window_is_refused_with_10557(caller: Caller,
                                                              offset_ms: int) -> None:
    """Accepted only if ts < serverTime + 1000 and serverTime - ts <= X-REQ-TS-DIFF."""
    response = caller.get("/open/option/position/get/v1", ts=WORKED_TS + offset_ms)
    assert code_of(response) == 10557


@pytest.mark.parametrize("offset_ms", [-5000, -1, 0, 999])
def test_a_timestamp_inside_the_window_is_accepted(caller: Caller, offset_ms: int) -> None:
    assert data_of(caller.get("/open/option/position/get/v1", ts=WORKED_TS + offset_ms)) == []


def test_the_window_is_the_one_the_client_signed(caller: Caller) -> None:
    """X-REQ-TS-DIFF widens the window, and is part of the prehash."""
    stale = WORKED_TS - 8000
    assert code_of(caller.get("/open/option/position/get/v1", ts=stale)) == 10557
    assert data_of(caller.get("/open/option/position/get/v1", ts=stale, diff=10_000)) == []


def test_the_window_follows_the_server_clock(caller: Caller, sim_clock: ManualClock) -> None:
    sim_clock.advance(timedelta(seconds=6))
    assert code_of(caller.get("/open/option/position/get/v1", ts=WORKED_TS)) == 10557
    assert data_of(caller.get("/open/option/position/get/v1")) == []


def test_an_unparseable_timestamp_is_refused_with_10561(server: SimServer,
                                                        caller: Caller) -> None:
    headers = caller.headers("GET", "/open/option/position/get/v1", None)
    headers["ts"] = "yesterday"
    response = requests.get(f"{server.base_url}/open/option/position/get/v1",
                            headers=headers, timeout=5)
    assert code_of(response) == 10561


def test_a_spaced_json_body_signed_compact_is_accepted(caller: Caller) -> None:
    """[RM] sends spaced JSON and signs the compact form: the signature covers values."""
    body = {"orderId": 1983131927527428096}
    response = caller.post_json("/open/option/order/cancel/v1", body,
                                raw='{ "orderId" : 1983131927527428096 }')
    assert code_of(response) == 10584  # signature passed; no such order


def test_json_numbers_are_signed_as_written(caller: Caller) -> None:
    """`0.10` is signed as "0.10", never re-rendered through a float."""
    path = "/open/option/order/create/v1"
    raw = '{"symbol":"BTCUSD-1JAN26-87000-C","qty":0.10,"price":634.0,"tradeSide":1,' \
          '"tradeType":1,"clientOrderId":7}'
    as_written = {"symbol": "BTCUSD-1JAN26-87000-C", "qty": "0.10", "price": "634.0",
                  "tradeSide": 1, "tradeType": 1, "clientOrderId": 7}
    headers = caller.headers("POST", path, as_written)
    headers["Content-Type"] = "application/json"
    response = requests.post(caller.base_url + path, data=raw.encode(), headers=headers,
                             timeout=5)
    assert code_of(response) not in AUTH_CODES, response.text


def test_public_market_calls_need_no_signature(server: SimServer) -> None:
    for path in ("/time", "/open/public/config/v1", "/open/option/getInstruments/BTC",
                 "/open/futures/market/symbol/v1?symbol=BTCUSD"):
        response = requests.get(server.base_url + path, timeout=5)
        assert response.json()["code"] == 0, path


def test_a_public_call_that_is_signed_is_verified_too(caller: Caller) -> None:
    assert data_of(caller.get("/open/option/getInstruments/BTC"))
    assert code_of(caller.get("/open/option/getInstruments/BTC", sign="F" * 64)) == 10006


def test_secrets_never_appear_in_reprs() -> None:
    assert SECRET not in repr(Credentials.single(KEY, SECRET))
    assert KEY not in repr(Credentials.single(KEY, SECRET))
