"""Fixtures for the Coincall adapter tests: a scriptable Coincall on loopback and doc payloads.

`FakeCoincall` is a real HTTP server (stdlib `http.server`) on 127.0.0.1. Every request
is recorded and, when signed, its signature and timestamp window are verified with the
shared `signing` module exactly as Coincall does; a bad one is answered with 10006 /
10557 like the exchange. Tests script answers per (method, path): an envelope, an HTTP
status, a delay (to provoke timeouts) or a dropped connection (an answer lost after the
request arrived). No mocks of our own code: the client under test talks real HTTP.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from runner.domain.clock import ManualClock, to_epoch_ms
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.http import Timeouts
from runner.exchange.coincall.signing import signature, signatures_match
from runner.service.settings import Secret

KEY = "Zk3vT9qLw2XnB7pR5sY1uZ8cD4eH6jM0aQ2iN5oV7wE="
SECRET = "9c4b1e7f2a6d8c0b3e5f7a9d1c2b4e6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b"
READ_TIMEOUT = 0.3


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON text; bytes -> sent as is
    delay: float = 0.0
    drop: bool = False  # read the request, then close without answering


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    raw_body: bytes
    params: dict[str, Any]
    signature_valid: bool | None  # None: the request was not signed
    ts: int | None


def envelope(data: Any = None, code: int = 0, msg: str = "Success") -> dict[str, Any]:
    return {"code": code, "msg": msg, "i18nArgs": None, "data": data}


@dataclass
class FakeCoincall:
    """A Coincall-shaped HTTP server whose answers the test scripts."""

    now_ms: Callable[[], int]
    clock_skew_ms: int = 0
    received: list[Received] = field(default_factory=list)
    _queues: dict[tuple[str, str], deque[Reply]] = field(default_factory=dict)
    _defaults: dict[tuple[str, str], Reply] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    # -- scripting ---------------------------------------------------------------------
    @staticmethod
    def ok(data: Any = None) -> Reply:
        return Reply(body=envelope(data))

    @staticmethod
    def error(code: int, msg: str = "error") -> Reply:
        return Reply(body=envelope(None, code, msg))

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Answer the next requests to (method, path) with `replies`, in order."""
        with self._lock:
            self._queues.setdefault((method, path), deque()).extend(replies)

    def always(self, method: str, path: str, reply: Reply) -> None:
        """Answer (method, path) with `reply` whenever nothing is queued."""
        with self._lock:
            self._defaults[(method, path)] = reply

    def sent(self, path: str, method: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received
                    if r.path == path and (method is None or r.method == method)]

    def server_ms(self) -> int:
        return self.now_ms() + self.clock_skew_ms

    # -- serving -----------------------------------------------------------------------
    def answer(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
        if request.signature_valid is False:
            return self.error(10006, "Sign illegal")
        if request.ts is not None and not self._inside_window(request):
            return self.error(10557, "timestamp expired")
        with self._lock:
            queued = self._queues.get((request.method, request.path))
            scripted = queued.popleft() if queued else self._defaults.get(
                (request.method, request.path))
        if scripted is not None:
            return scripted
        if request.path == "/time":
            return self.ok({"serverTime": self.server_ms()})
        return Reply(status=404, body=b"not scripted")

    def _inside_window(self, request: Received) -> bool:
        server = self.server_ms()
        diff = int(request.headers.get("X-REQ-TS-DIFF", "5000"))
        ts = request.ts or 0
        return ts < server + 1000 and server - ts <= diff


def _parsed_params(method: str, query: str, headers: dict[str, str], body: bytes) -> dict:
    if method == "GET":
        return dict(parse_qsl(query, keep_blank_values=True))
    if "json" in headers.get("Content-Type", ""):
        return json.loads(body) if body else {}
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def _verify(method: str, path: str, params: dict, headers: dict[str, str]) -> bool | None:
    key = headers.get("X-CC-APIKEY")
    if key is None:
        return None
    if key != KEY or "sign" not in headers or "ts" not in headers:
        return False
    expected = signature(method, path, params, api_key=key, secret=SECRET,
                         ts_ms=int(headers["ts"]),
                         ts_diff_ms=int(headers.get("X-REQ-TS-DIFF", "5000")))
    return signatures_match(expected, headers["sign"])


def _handler_for(fake: FakeCoincall) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body leave in two writes: without this, Nagle + delayed ACK
            # add ~40 ms to every answer
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name: value for name, value in self.headers.items()}
            params = _parsed_params(self.command, parts.query, headers, body)
            valid = _verify(self.command, parts.path, params, headers)
            ts = int(headers["ts"]) if "ts" in headers else None
            reply = fake.answer(Received(self.command, parts.path, headers, body, params,
                                         valid, ts))
            if reply.delay:
                threading.Event().wait(reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            self._write(reply)

        def _write(self, reply: Reply) -> None:
            payload = reply.body if isinstance(reply.body, bytes) else json.dumps(
                reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                self.close_connection = True

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        return


@pytest.fixture
def clock() -> ManualClock:
    """A week before the documented samples' expiry (27 Feb 2026, 08:00 UTC)."""
    return ManualClock(datetime(2026, 2, 20, 12, 0, tzinfo=UTC))


@pytest.fixture
def coincall(clock: ManualClock) -> Iterator[FakeCoincall]:
    fake = FakeCoincall(now_ms=lambda: to_epoch_ms(clock.now()))
    server = _QuietServer(("127.0.0.1", 0), _handler_for(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class RecordingSleep:
    """The injected sleep: records each wait and advances the manual clock instead."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.sleep(seconds)


@pytest.fixture
def sleeps(clock: ManualClock) -> RecordingSleep:
    return RecordingSleep(clock)


@pytest.fixture
def make_client(coincall: FakeCoincall, clock: ManualClock,
                sleeps: RecordingSleep) -> Iterator[Callable[..., CoincallClient]]:
    made: list[CoincallClient] = []

    def build(**options: Any) -> CoincallClient:
        options.setdefault("base_url", coincall.url)
        options.setdefault("timeouts", Timeouts(connect=1.0, read=READ_TIMEOUT))
        client = CoincallClient(api_key=Secret(KEY), api_secret=Secret(SECRET), clock=clock,
                                sleep=sleeps, **options)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., CoincallClient]) -> CoincallClient:
    return make_client()


# -- payloads shaped exactly like coincall-api.md's examples --------------------------------
DOC = SimpleNamespace(
    instruments=[{"baseCurrency": "BTC", "expirationTimestamp": 1772179200000,
                  "strike": 90000.0, "symbolName": "BTCUSD-27FEB26-90000-C", "isActive": True,
                  "minQty": 0.01, "tickSize": 1}],
    chain=[{"strike": 80000.0, "putOption": {
        "symbol": "BTCUSD-27FEB26-80000-P", "type": 2, "bid": 905.0, "bidSize": 3.2,
        "ask": 940.0, "askSize": 1.5, "markPrice": 921.4, "markIv": 0.48,
        "underlyingPrice": 86502.1, "delta": -0.2712, "vega": 61.2, "theta": -58.9}}],
    detail={"symbol": "BTCUSD-27FEB26-90000-C", "type": 1, "bid": 1290.0, "ask": 1335.0,
            "markPrice": 1310.6, "iv": 0.452, "indexPrice": 86420.5,
            "underlyingPrice": 86502.1, "delta": 0.3125, "gamma": 0.000035, "vega": 64.8,
            "theta": -61.3, "endTime": 1772179200000},
    orderbook={"optionName": "BTCUSD-27FEB26-90000-C", "strike": 90000,
               "bids": [{"price": "1290", "size": "2.5"}],
               "asks": [{"price": "1335", "size": "0.8"}]},
    order_id=1983131927527428096,
    single_order={"orderId": 1983131927527428096, "clientOrderId": 1767225600123,
                  "symbol": "BTCUSD-27FEB26-90000-C", "qty": 0.1, "fillQty": 0.1,
                  "remainQty": 0, "price": 1250.5, "avgPrice": 1250.5, "tradeSide": 2,
                  "tradeType": 1, "reduceOnly": 1, "fee": 0.05, "state": 1},
    positions=[{"positionId": 1983131929700110337, "symbol": "BTCUSD-27FEB26-90000-C",
                "qty": 0.1, "tradeSide": 2, "avgPrice": 1250.5, "markPrice": 1180.0,
                "upnl": 7.05, "upnlByMarkPrice": 7.05, "delta": -0.031, "vega": -6.48,
                "theta": 6.13}],
    account={"equity": "104233.51", "availableMargin": "91820.07", "imAmount": "12413.44",
             "mmAmount": "8690.12", "imRatio": "0.1191", "mmRatio": "0.0834",
             "unrealizedPnL": "-42.10",
             "accounts": [{"coin": "USDT", "equityAmount": "104233.51", "marginMode": 2}]},
    api_key={"userId": 1695796692726153, "apiKey": "Zk3v...7wE=", "readOnly": 0,
             "isMaster": True, "parentUid": "0"},
    rfq_created={"requestId": "1983130719395909632", "createTime": 1767225600300,
                 "expiryTime": 1767229200300, "state": "ACTIVE",
                 "legs": [{"instrumentName": "BTCUSD-27FEB26-90000-C", "side": "SELL",
                           "qty": "0.5"},
                          {"instrumentName": "BTCUSD-27FEB26-80000-P", "side": "SELL",
                           "qty": "0.5"}]},
    quotes=[{"quoteId": "1983131007357546497", "requestId": "1983130719395909632",
             "state": "OPEN", "expiryTime": 1767225912000,
             "legs": [{"instrumentName": "BTCUSD-27FEB26-90000-C", "side": "BUY",
                       "price": "1240", "quantity": "0.5"},
                      {"instrumentName": "BTCUSD-27FEB26-80000-P", "side": "BUY",
                       "price": "905", "quantity": "0.5"}]}],
    accepted={"blockTradeId": "1983131007357546498", "requestId": "1983130719395909632",
              "quoteId": "1983131007357546497", "role": "TAKER",
              "legs": [{"instrumentName": "BTCUSD-27FEB26-90000-C", "side": "SELL",
                        "price": "1240", "quantity": "0.5", "fee": "0.62",
                        "orderId": "1983131927527428096", "tradeId": "1983131929700110336"},
                       {"instrumentName": "BTCUSD-27FEB26-80000-P", "side": "SELL",
                        "price": "905", "quantity": "0.5", "fee": "0.45",
                        "orderId": "1983131927527428097",
                        "tradeId": "1983131929700110337"}]},
)


@pytest.fixture
def doc() -> SimpleNamespace:
    return copy.deepcopy(DOC)
