"""A client written from the docs (`tests/exchange/docs_client.py`) against `runner sim-server`.

Issue 8, "Done means": the sim-server answers as items 5, 6 and 9 say for a client that
shares no code with the adapter or the simulator. The client's signer is first pinned
to the documented vectors (coincall-api.md 3.4); then a real `python -m runner
sim-server` process (real clock, rate limits on by default) is spoken to as the docs
describe: signed calls succeed, bad signatures and stale timestamps are refused with
the documented codes, throttling answers as section 7 says (item 5), bad requests get
their codes (section 8, item 9), and `--no-rate-limits` turns the throttle off. Items 2
(documented shapes and paging), 3 (RFQ body encodings) and 4 (rfqList and the key) are
checked with the same client in `test_docs_client_history_and_rfq.py`.
"""

from __future__ import annotations

import ast
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "exchange"))  # docs_client

from docs_client import DocsClient, docs_prehash, docs_sign
from helpers_docs_process import KEY, SECRET, sim_server

BAD_SIGNATURE = {10006, 10562}  # section 8
STALE_TIMESTAMP = {10557, 10561}  # 3.1 and section 8
THROTTLED = {10000, 10605}  # section 7: "Throttling shows as 10000 or 10605" (or HTTP 429)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


# -- the client's own signer, pinned to the docs -----------------------------------------
def test_the_docs_client_imports_nothing_from_the_runner() -> None:
    source = (Path(__file__).resolve().parents[1] / "exchange" / "docs_client.py").read_text(
        "utf-8"
    )
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not any(name == "runner" or name.startswith("runner.") for name in imported)
    assert "requests" in imported  # it was parsed: the walk saw its imports



DOC_KEY = "Zk3vT9qLw2XnB7pR5sY1uZ8cD4eH6jM0aQ2iN5oV7wE="
DOC_SECRET = "9c4b1e7f2a6d8c0b3e5f7a9d1c2b4e6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b"
DOC_TS = 1767225600000


@pytest.mark.parametrize(("method", "path", "params", "expected"), [
    ("POST", "/open/option/order/create/v1",
     {"symbol": "BTCUSD-27FEB26-90000-C", "qty": 0.1, "tradeSide": 2, "tradeType": 1,
      "price": 1250.5, "timeInForce": "GTC", "reduceOnly": 1, "clientOrderId": 1767225600123},
     "003497115DA415B17470478B79915940029A544F670148063DB1E0414FF4D82B"),
    ("GET", "/open/option/order/pending/v1", {"pageSize": 50, "page": 1, "currency": "BTC"},
     "E5F756350653DC2AE0A788D5D3CF0E4707EFD733412EE651BFC7CEE082E734B6"),
    ("GET", "/open/option/position/get/v1", None,
     "E267B031FBE3ED1FFD09FA4E7ADA480586A42CB33DD47E2734B50B2A848F6686"),
    ("POST", "/open/option/blocktrade/request/create/v1",
     {"legs": [{"instrumentName": "BTCUSD-27FEB26-90000-C", "side": "SELL", "qty": "0.5"},
               {"instrumentName": "BTCUSD-27FEB26-80000-P", "side": "SELL", "qty": "0.5"}]},
     "BF5A45F29DEB2C3BAA3C40D8BCBFB6E77AD1AB93DA793D41796D11C7AFED91A5"),
    ("POST", "/open/option/blocktrade/request/accept/v1",
     {"requestId": "1983130719395909632", "quoteId": "1983131007357546497"},
     "DF63E10E24EC8124A1688A9B273E48E64CC538B56DCD64A8AECD7705B1E60435"),
])
def test_the_docs_clients_signer_reproduces_the_documented_vectors(
        method: str, path: str, params: dict | None, expected: str) -> None:
    prehash = docs_prehash(method, path, params, key=DOC_KEY, ts=DOC_TS, window_ms=5000)
    assert docs_sign(DOC_SECRET, prehash) == expected


# -- a real sim-server process -----------------------------------------------------------
@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with sim_server() as (_process, base_url):
        yield base_url


@pytest.fixture
def client(venue_url: str) -> Iterator[DocsClient]:
    docs = DocsClient(venue_url, KEY, SECRET)
    docs.sync_time()
    yield docs
    docs.close()


def listed_call(client: DocsClient) -> str:
    """A call of the nearest expiry, from the public instrument list and chain (6.1)."""
    listed = client.public("/open/option/getInstruments/BTC").data
    nearest = min(item["expirationTimestamp"] for item in listed)
    rows = client.public("/open/option/get/v1/BTCUSD", {"endTime": nearest}).data
    calls = [row["callOption"] for row in rows if row.get("callOption")]
    return calls[len(calls) // 2]["symbol"]


def test_signed_calls_made_as_the_docs_say_succeed(client: DocsClient) -> None:
    """Positions, account, an order placed, queried and cancelled (6.2, 6.3)."""
    assert isinstance(client.get("/open/option/position/get/v1").data, list)
    assert float(client.get("/open/account/summary/v1").data["equity"]) > 0
    symbol = listed_call(client)
    order = {"symbol": symbol, "qty": 0.1, "tradeSide": 1, "tradeType": 1, "price": 5,
             "timeInForce": "GTC", "clientOrderId": client.now_ms()}
    order_id = client.post_json("/open/option/order/create/v1", order).data
    assert isinstance(order_id, int)
    queried = client.get("/open/option/order/singleQuery/v1", {"orderId": order_id}).data
    assert (queried["orderId"], queried["clientOrderId"]) == (order_id, order["clientOrderId"])
    assert client.post_json("/open/option/order/cancel/v1", {"orderId": order_id}).data == \
        "success"


def test_a_spaced_json_body_signed_compact_succeeds(client: DocsClient) -> None:
    """3.2: [RM] sends spaced JSON and signs compact; it works live."""
    answer = client.post_json("/open/option/order/cancel/v1", {"orderId": 1},
                              raw='{ "orderId" : 1 }')
    assert answer.code == 10584  # signature accepted; no such order (section 8)


def test_a_bad_signature_is_refused_with_the_documented_code(client: DocsClient) -> None:
    answer = client.get("/open/option/position/get/v1", sign="A" * 64)
    assert answer.status == 200
    assert answer.code in BAD_SIGNATURE


def test_a_signature_made_with_another_secret_is_refused(venue_url: str) -> None:
    impostor = DocsClient(venue_url, KEY, "not-the-secret")
    impostor.sync_time()
    assert impostor.get("/open/user/info/v1").code in BAD_SIGNATURE
    impostor.close()


def test_a_stale_timestamp_is_refused_with_the_documented_code(client: DocsClient) -> None:
    """3.1: accepted only if serverTime - ts <= X-REQ-TS-DIFF and ts < serverTime + 1000."""
    now = client.now_ms()
    assert client.get("/open/option/position/get/v1", ts=now - 6000).code in STALE_TIMESTAMP
    assert client.get("/open/option/position/get/v1", ts=now + 5000).code in STALE_TIMESTAMP


def test_a_day_old_request_cannot_be_replayed_with_a_day_long_window(
        client: DocsClient) -> None:
    day = 86_400_000
    answer = client.get("/open/option/position/get/v1", ts=client.now_ms() - day,
                        window_ms=day + 5000)
    assert answer.code in STALE_TIMESTAMP


def test_throttling_answers_as_the_docs_say_and_passes(client: DocsClient) -> None:
    """Section 7: account information 2 / 1 s; throttling shows as 10000 or 10605."""
    time.sleep(1.0)  # the account budget is free whatever ran before
    answers = [client.get("/open/account/summary/v1") for _ in range(4)]
    assert [a.code for a in answers[:2]] == [0, 0]
    throttled = [a for a in answers[2:] if a.code != 0]
    assert throttled, [a.code for a in answers]
    assert all(a.code in THROTTLED or a.status == 429 for a in throttled)
    time.sleep(1.1)
    assert client.get("/open/account/summary/v1").code == 0


def test_bad_requests_get_their_documented_codes(client: DocsClient) -> None:
    """Section 8: 10004 bad parameters, 12012 bad timeInForce (FOK: its message names GTC
    and IOC only), 10560 invalid key; never an HTTP 500."""
    symbol = listed_call(client)
    order = {"symbol": symbol, "qty": 0.1, "tradeSide": 1, "tradeType": 1, "price": 5}
    path = "/open/option/order/create/v1"
    fok = client.post_json(path, {**order, "timeInForce": "FOK"})
    assert (fok.status, fok.code) == (200, 12012)
    huge = client.post_json(path, {**order, "qty": "1e999999"},
                            raw=f'{{"symbol":"{symbol}","qty":1e999999,"tradeSide":1,'
                                '"tradeType":1,"price":5}')
    assert (huge.status, huge.code) == (200, 10004)
    nested = "[" * 5000 + "]" * 5000
    deep = client.post_json("/open/option/blocktrade/request/create/v1", {"legs": nested},
                            raw=f'{{"legs":{nested}}}')
    assert (deep.status, deep.code) == (200, 10004)
    assert client.get("/open/option/position/get/v1", key="nobody").code == 10560


def test_without_rate_limits_a_burst_is_never_throttled() -> None:
    with sim_server("--no-rate-limits") as (process, base_url):
        assert process.stdout is not None
        details = process.stdout.readline()
        docs = DocsClient(base_url, KEY, SECRET)
        docs.sync_time()
        codes = [docs.get("/open/account/summary/v1").code for _ in range(10)]
        docs.close()
        process.send_signal(signal.SIGTERM)
        out, _err = process.communicate(timeout=10)
    assert codes == [0] * 10
    assert "rate limits off" in details
    assert "throttled answers: 0" in out.splitlines()
