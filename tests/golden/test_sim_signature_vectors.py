"""Golden signing vectors of coincall-api.md 3.4, checked by the simulator's own verifier.

The simulated exchange signs with `runner.sim.signature` (written from the docs,
sharing no code with the adapter; issue 8 finding 7). Each vector is fed to it the way a
request arrives on the wire, as raw query, JSON or FORM text, through the venue's parser,
so both the prehash and the parsing that feeds it are pinned to the documented values.
The adapter is pinned to the same vectors in `test_signing_vectors.py`.
"""

from __future__ import annotations

import pytest

from runner.sim.signature import expected_sign, sign_matches, venue_prehash
from runner.sim.wire_in import parse_request, signing_params

KEY = "Zk3vT9qLw2XnB7pR5sY1uZ8cD4eH6jM0aQ2iN5oV7wE="
SECRET = "9c4b1e7f2a6d8c0b3e5f7a9d1c2b4e6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b"
TS = 1767225600000
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

ORDER_BODY = ('{"symbol":"BTCUSD-27FEB26-90000-C","qty":0.1,"tradeSide":2,"tradeType":1,'
              '"price":1250.5,"timeInForce":"GTC","reduceOnly":1,"clientOrderId":1767225600123}')

# (method, target as sent, content type, body as sent, documented sign)
VECTORS = [
    ("POST", "/open/option/order/create/v1", JSON, ORDER_BODY,
     "003497115DA415B17470478B79915940029A544F670148063DB1E0414FF4D82B"),
    ("GET", "/open/option/order/pending/v1?pageSize=50&page=1&currency=BTC", None, "",
     "E5F756350653DC2AE0A788D5D3CF0E4707EFD733412EE651BFC7CEE082E734B6"),
    ("GET", "/open/option/position/get/v1", None, "",
     "E267B031FBE3ED1FFD09FA4E7ADA480586A42CB33DD47E2734B50B2A848F6686"),
    ("GET", "/open/option/detail/v1/BTCUSD-27FEB26-90000-C", None, "",
     "F9C36BD8ED47C52538F6F902F869D1ED529A35FEBC4621ADF6A84B15B95F3226"),
    ("POST", "/open/option/order/cancel/v1", JSON, '{"orderId":1983131927527428096}',
     "C55CAE2E1E3098AF710BC43967B5F399A0B7EFF8FF5629F26F748061A75DA24B"),
    ("POST", "/open/option/blocktrade/request/create/v1", JSON,
     '{"legs":[{"instrumentName":"BTCUSD-27FEB26-90000-C","side":"SELL","qty":"0.5"},'
     '{"instrumentName":"BTCUSD-27FEB26-80000-P","side":"SELL","qty":"0.5"}]}',
     "BF5A45F29DEB2C3BAA3C40D8BCBFB6E77AD1AB93DA793D41796D11C7AFED91A5"),
    ("POST", "/open/option/blocktrade/request/accept/v1", FORM,
     "requestId=1983130719395909632&quoteId=1983131007357546497",
     "DF63E10E24EC8124A1688A9B273E48E64CC538B56DCD64A8AECD7705B1E60435"),
    ("POST", "/open/option/blocktrade/quote/cancel-all/v1", None, "",
     "A6C8710B9F98B025D7E54C43707B279D18A9AA37A624636385CB397E5FA23052"),
]


def venue_sign(method: str, target: str, content_type: str | None, body: str, *,
               key: str = KEY, secret: str = SECRET, ts: int = TS) -> str:
    headers = {"Content-Type": content_type} if content_type else {}
    request = parse_request(method, target, headers, body.encode())
    text = venue_prehash(method, request.path, signing_params(request.params), key=key,
                         ts=ts, window_ms=5000)
    return expected_sign(secret, text)


def test_the_worked_example_prehash_is_rebuilt_from_the_sent_body() -> None:
    request = parse_request("POST", "/open/option/order/create/v1",
                            {"Content-Type": JSON}, ORDER_BODY.encode())
    assert venue_prehash("POST", request.path, signing_params(request.params), key=KEY,
                         ts=TS, window_ms=5000) == (
        "POST/open/option/order/create/v1?clientOrderId=1767225600123&price=1250.5&qty=0.1"
        "&reduceOnly=1&symbol=BTCUSD-27FEB26-90000-C&timeInForce=GTC&tradeSide=2&tradeType=1"
        f"&uuid={KEY}&ts={TS}&x-req-ts-diff=5000"
    )


@pytest.mark.parametrize(("method", "target", "content_type", "body", "expected"), VECTORS,
                         ids=[f"{m} {t.split('?')[0]}" for m, t, _, _, _ in VECTORS])
def test_each_documented_vector_arriving_on_the_wire_signs_to_the_documented_value(
        method: str, target: str, content_type: str | None, body: str, expected: str) -> None:
    assert venue_sign(method, target, content_type, body) == expected


def test_the_rfq_makers_golden_vector_signs_to_its_value() -> None:
    """[RM]'s vector (key `test-key`, secret `test-secret`, ts 1750000000000), 3.4."""
    assert venue_sign("GET", "/open/option/blocktrade/rfqList/v1?state=OPEN&role=MAKER", None,
                      "", key="test-key", secret="test-secret", ts=1750000000000) == (
        "1677ADD7A27535F275539A17891025E3F0E8BEED9E2F780375E04A770E29656C")


def test_a_spaced_json_body_signs_like_its_compact_form() -> None:
    """[RM] sends spaced JSON and signs compact; the venue signs the values, not the bytes."""
    spaced = '{ "orderId" : 1983131927527428096 }'
    assert venue_sign("POST", "/open/option/order/cancel/v1", JSON, spaced) == VECTORS[4][4]


def test_a_null_value_is_left_out_of_the_prehash() -> None:
    with_null = '{"orderId":1983131927527428096,"clientOrderId":null}'
    assert venue_sign("POST", "/open/option/order/cancel/v1", JSON, with_null) == VECTORS[4][4]


def test_the_sign_header_is_compared_without_regard_to_hex_case() -> None:
    text = venue_prehash("GET", "/open/option/position/get/v1", {}, key=KEY, ts=TS,
                         window_ms=5000)
    assert sign_matches(SECRET, text, VECTORS[2][4].lower())
    assert not sign_matches(SECRET, text, "0" * 64)
    assert not sign_matches(SECRET, text, "É" * 64)
