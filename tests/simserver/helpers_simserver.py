"""Shared helpers for the sim-server tests: the worked example's credentials and a caller
that signs requests exactly as coincall-api.md 3.1/3.2 describe (with plain `requests`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from runner.domain.clock import Clock, to_epoch_ms
from runner.exchange.coincall.signing import signature

KEY = "Zk3vT9qLw2XnB7pR5sY1uZ8cD4eH6jM0aQ2iN5oV7wE="
SECRET = "9c4b1e7f2a6d8c0b3e5f7a9d1c2b4e6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b"
WORKED_TS = 1767225600000  # 2026-01-01T00:00:00Z
WORKED_BODY = (
    '{"symbol":"BTCUSD-27FEB26-90000-C","qty":0.1,"tradeSide":2,"tradeType":1,"price":1250.5,'
    '"timeInForce":"GTC","reduceOnly":1,"clientOrderId":1767225600123}'
)
WORKED_SIGN = "003497115DA415B17470478B79915940029A544F670148063DB1E0414FF4D82B"
TIMEOUT = 5.0


class Caller:
    """Signs and sends Coincall requests to a base URL; every knob can be overridden."""

    def __init__(self, base_url: str, clock: Clock, *, key: str = KEY,
                 secret: str = SECRET) -> None:
        self.base_url = base_url
        self.clock = clock
        self.key = key
        self.secret = secret
        self.session = requests.Session()

    def headers(self, method: str, path: str, params: Mapping[str, Any] | None, *,
                ts: int | None = None, diff: int = 5000, sign: str | None = None,
                key: str | None = None) -> dict[str, str]:
        ts = to_epoch_ms(self.clock.now()) if ts is None else ts
        key = self.key if key is None else key
        sign = sign or signature(method, path, params, api_key=key, secret=self.secret,
                                 ts_ms=ts, ts_diff_ms=diff)
        return {"X-CC-APIKEY": key, "sign": sign, "ts": str(ts), "X-REQ-TS-DIFF": str(diff)}

    def get(self, path: str, params: Mapping[str, Any] | None = None, *,
            timeout: float = TIMEOUT, **auth: Any) -> requests.Response:
        headers = self.headers("GET", path, params, **auth)
        return self.session.get(self.base_url + path, params=params, headers=headers,
                                timeout=timeout)

    def post_json(self, path: str, body: Mapping[str, Any], *, raw: str | None = None,
                  timeout: float = TIMEOUT, **auth: Any) -> requests.Response:
        headers = self.headers("POST", path, body, **auth)
        headers["Content-Type"] = "application/json"
        data = raw if raw is not None else json.dumps(body, separators=(",", ":"))
        return self.session.post(self.base_url + path, data=data.encode(), headers=headers,
                                 timeout=timeout)

    def post_form(self, path: str, fields: Mapping[str, Any], *, timeout: float = TIMEOUT,
                  **auth: Any) -> requests.Response:
        headers = self.headers("POST", path, fields, **auth)
        return self.session.post(self.base_url + path, data=dict(fields), headers=headers,
                                 timeout=timeout)

    def close(self) -> None:
        self.session.close()


def data_of(response: requests.Response) -> Any:
    """The `data` of a successful envelope (fails the test with the answer otherwise)."""
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["code"] == 0, payload
    return payload["data"]


def code_of(response: requests.Response) -> int:
    return int(response.json()["code"])


def near_money_call(caller: Caller) -> dict[str, Any]:
    """A listed call of the first expiry with both sides quoted, near the money."""
    listed = data_of(caller.get("/open/option/getInstruments/BTC"))
    first_expiry = min(item["expirationTimestamp"] for item in listed)
    rows = data_of(caller.get("/open/option/get/v1/BTCUSD", {"endTime": first_expiry}))
    calls = [row["callOption"] for row in rows
             if row["callOption"] and row["callOption"]["bid"] and row["callOption"]["ask"]]
    return min(calls, key=lambda option: abs(option["delta"] - 0.5))


def resting_buy(symbol: str, client_order_id: int, price: int = 5) -> dict[str, Any]:
    """A limit buy far below the market: it rests, unfilled."""
    return {"symbol": symbol, "qty": 0.1, "tradeSide": 1, "tradeType": 1, "price": price,
            "clientOrderId": client_order_id}


ORDER_CREATE = "/open/option/order/create/v1"
SINGLE_QUERY = "/open/option/order/singleQuery/v1"
