"""Golden signing vectors from coincall-api.md section 3.4, signed by the adapter.

The simulator verifies with its own implementation, pinned to the same vectors in
`test_sim_signature_vectors.py`."""

from __future__ import annotations

import json

import pytest

from runner.exchange.coincall.signing import prehash, signature

KEY = "Zk3vT9qLw2XnB7pR5sY1uZ8cD4eH6jM0aQ2iN5oV7wE="
SECRET = "9c4b1e7f2a6d8c0b3e5f7a9d1c2b4e6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b"
TS = 1767225600000

ORDER_BODY = json.loads(
    '{"symbol":"BTCUSD-27FEB26-90000-C","qty":0.1,"tradeSide":2,"tradeType":1,"price":1250.5,'
    '"timeInForce":"GTC","reduceOnly":1,"clientOrderId":1767225600123}'
)


def test_the_worked_example_prehash_is_reproduced_exactly() -> None:
    assert prehash("POST", "/open/option/order/create/v1", ORDER_BODY, api_key=KEY, ts_ms=TS) == (
        "POST/open/option/order/create/v1?clientOrderId=1767225600123&price=1250.5&qty=0.1"
        "&reduceOnly=1&symbol=BTCUSD-27FEB26-90000-C&timeInForce=GTC&tradeSide=2&tradeType=1"
        f"&uuid={KEY}&ts={TS}&x-req-ts-diff=5000"
    )


VECTORS = [
    ("POST", "/open/option/order/create/v1", ORDER_BODY,
     "003497115DA415B17470478B79915940029A544F670148063DB1E0414FF4D82B"),
    ("GET", "/open/option/order/pending/v1", {"pageSize": 50, "page": 1, "currency": "BTC"},
     "E5F756350653DC2AE0A788D5D3CF0E4707EFD733412EE651BFC7CEE082E734B6"),
    ("GET", "/open/option/position/get/v1", None,
     "E267B031FBE3ED1FFD09FA4E7ADA480586A42CB33DD47E2734B50B2A848F6686"),
    ("GET", "/open/option/detail/v1/BTCUSD-27FEB26-90000-C", None,
     "F9C36BD8ED47C52538F6F902F869D1ED529A35FEBC4621ADF6A84B15B95F3226"),
    ("POST", "/open/option/order/cancel/v1", {"orderId": 1983131927527428096},
     "C55CAE2E1E3098AF710BC43967B5F399A0B7EFF8FF5629F26F748061A75DA24B"),
    ("POST", "/open/option/blocktrade/request/create/v1",
     {"legs": [{"instrumentName": "BTCUSD-27FEB26-90000-C", "side": "SELL", "qty": "0.5"},
               {"instrumentName": "BTCUSD-27FEB26-80000-P", "side": "SELL", "qty": "0.5"}]},
     "BF5A45F29DEB2C3BAA3C40D8BCBFB6E77AD1AB93DA793D41796D11C7AFED91A5"),
    ("POST", "/open/option/blocktrade/request/accept/v1",
     {"requestId": "1983130719395909632", "quoteId": "1983131007357546497"},
     "DF63E10E24EC8124A1688A9B273E48E64CC538B56DCD64A8AECD7705B1E60435"),
    ("POST", "/open/option/blocktrade/quote/cancel-all/v1", {},
     "A6C8710B9F98B025D7E54C43707B279D18A9AA37A624636385CB397E5FA23052"),
]


@pytest.mark.parametrize(("method", "path", "params", "expected"), VECTORS,
                         ids=[f"{m} {p}" for m, p, _, _ in VECTORS])
def test_each_documented_vector_signs_to_the_documented_value(
    method: str, path: str, params: dict[str, object] | None, expected: str
) -> None:
    assert signature(method, path, params, api_key=KEY, secret=SECRET, ts_ms=TS) == expected


def test_null_values_are_left_out_of_the_prehash() -> None:
    with_null = {"orderId": 1983131927527428096, "clientOrderId": None}
    assert signature("POST", "/open/option/order/cancel/v1", with_null, api_key=KEY,
                     secret=SECRET, ts_ms=TS) == VECTORS[4][3]


def test_the_rfq_makers_golden_vector_signs_to_its_value() -> None:
    """[RM]'s vector (key `test-key`, secret `test-secret`, ts 1750000000000), 3.4."""
    assert signature("GET", "/open/option/blocktrade/rfqList/v1",
                     {"state": "OPEN", "role": "MAKER"}, api_key="test-key",
                     secret="test-secret", ts_ms=1750000000000) == (
        "1677ADD7A27535F275539A17891025E3F0E8BEED9E2F780375E04A770E29656C")
