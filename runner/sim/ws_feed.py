"""The simulator's market-data WebSocket (coincall-api.md section 9), served from its market.

Owns the feed sessions of `runner sim-server`: `/options` serves `orderBook` (dt 5) and
`tOption` (dt 4), `/futures` serves `spotPrice` (dt 30), each frame shaped as Coincall
documents it (`{"dt", "c": 20, "d", "ts"}`, numbers as strings where the docs show
strings). A session answers `{"action":"heartbeat"}` with `{"c":11,"rc":1}`, acks each
(un)subscribe with `action`/`result`, and pushes every subscribed channel every
`push_every` seconds (books and index; the whole-expiry `tOption` every
`chain_every`), read from the simulated exchange at that moment. A connection idle for
`IDLE_DROP` seconds (no heartbeat, nothing subscribed) is closed, as Coincall does.
Signed connection URLs (`uuid`/`apiKey`, `ts`, `sign`) are verified against the
server's credentials; an unsigned URL is served (public market data). Faults
(`ws_faults`): drops, silent stalls, out-of-order pushes, late delivery. Each session
runs on the handler thread of its HTTP connection, one `select` loop (woken at least
every `wake_every` real seconds): read, answer, push. Cadences are read on `monotonic`,
which a campaign on simulated time sets to the simulated clock before serving.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from runner.domain.clock import Clock, to_epoch_ms
from runner.domain.instruments import Underlying
from runner.domain.snapshot import Book, OptionQuote
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange
from runner.sim import ws_frames
from runner.sim.ws_faults import WsFaults

PUSH_EVERY: Final = 0.1  # seconds; Coincall pushes orderBook every 100 ms
CHAIN_EVERY: Final = 0.5
WAKE_EVERY: Final = 0.1  # real seconds: the longest a session sleeps in select
IDLE_DROP: Final = 30.0
PATHS: Final = frozenset({"/options", "/futures"})
_CHANNELS: Final = {"/options": frozenset({"orderBook", "tOption"}),
                    "/futures": frozenset({"spotPrice"})}


@dataclass(frozen=True, slots=True)
class Channel:
    data_type: str
    symbol: str
    end_ms: int | None = None


@dataclass(slots=True)
class _Session:
    path: str
    sock: socket.socket
    channels: dict[Channel, float] = field(default_factory=dict)  # -> next push (monotonic)
    last_sent: dict[Channel, str] = field(default_factory=dict)
    late: deque[tuple[float, str]] = field(default_factory=deque)  # (deliver at, message)
    buffer: bytearray = field(default_factory=bytearray)
    heard: float = 0.0  # last heartbeat or subscribe (monotonic)
    pushes: int = 0


class WsFeed:
    """The feed endpoint of one SimServer: who may connect, what is pushed, which faults."""

    def __init__(self, exchange: Exchange, clock: Clock, secrets: Mapping[str, str],
                 stopping: threading.Event, faults: WsFaults | None = None, *,
                 push_every: float = PUSH_EVERY, chain_every: float = CHAIN_EVERY,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._exchange = exchange
        self._clock = clock
        self._secrets = secrets
        self._stopping = stopping
        self.faults = faults or WsFaults()
        self.push_every = push_every
        self.chain_every = chain_every
        self.wake_every = WAKE_EVERY
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self.sessions_opened = 0
        self.subscriptions = 0  # subscribe actions received, resubscriptions included
        self.open_sessions = 0

    @staticmethod
    def wants(path: str, headers: Mapping[str, str]) -> bool:
        lowered = {k.lower(): v for k, v in headers.items()}
        return (urlsplit(path).path in PATHS
                and lowered.get("upgrade", "").lower() == "websocket")

    def refusal(self, target: str) -> str | None:
        """Why a signed URL is refused (None: accepted); an unsigned URL is accepted."""
        params = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
        sign = params.get("sign")
        if sign is None:
            return None
        key = params.get("uuid") or params.get("apiKey") or ""
        secret = self._secrets.get(key)
        if secret is None:
            return "unknown API key"
        expected = [_login_sign(secret, name, key, params.get("ts", ""))
                    for name in ("uuid", "apiKey") if name in params]
        if not any(hmac.compare_digest(sign, want) for want in expected):
            return "signature mismatch"
        return None

    def serve(self, target: str, sock: socket.socket) -> None:
        """Run one session on `sock` (after the 101 answer) until it ends."""
        session = _Session(urlsplit(target).path, sock, heard=self.monotonic())
        generation = self.faults.drop_generation
        started = self.monotonic()
        with self._lock:
            self.sessions_opened += 1
            self.open_sessions += 1
        try:
            sock.setblocking(True)
            while not self._stopping.is_set():
                if self.faults.should_drop(generation, self.monotonic() - started):
                    return
                if not self._step(session):
                    return
        except (OSError, ws_frames.FrameError):
            return
        finally:
            with self._lock:
                self.open_sessions -= 1
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # -- one turn of the loop ----------------------------------------------------------
    def _step(self, session: _Session) -> bool:
        """Wait for input or the next push; False when the session is over."""
        now = self.monotonic()
        if now - session.heard > IDLE_DROP:
            return False
        late = [session.late[0][0]] if session.late else []
        due = min([*session.channels.values(), *late], default=now + self.push_every)
        wait = min(max(due - now, 0.0), self.wake_every)
        readable, _, _ = select.select([session.sock], [], [], wait)
        if readable:
            chunk = session.sock.recv(65536)
            if not chunk:
                return False
            session.buffer.extend(chunk)
            if not self._read_frames(session):
                return False
        if not self.faults.stalled():
            self._push_due(session)
            self._deliver_late(session)
        return True

    def _read_frames(self, session: _Session) -> bool:
        while (frame := ws_frames.take_frame(session.buffer)) is not None:
            if frame.opcode == ws_frames.OP_CLOSE:
                self._send(session, ws_frames.encode(ws_frames.OP_CLOSE, frame.payload[:2]))
                return False
            if frame.opcode == ws_frames.OP_PING:
                self._send(session, ws_frames.encode(ws_frames.OP_PONG, frame.payload))
            elif frame.opcode == ws_frames.OP_TEXT:
                self._on_text(session, frame.payload.decode("utf-8", errors="replace"))
        return True

    def _on_text(self, session: _Session, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        action = message.get("action")
        if action == "heartbeat":
            session.heard = self.monotonic()
            if not self.faults.stalled():
                self._send_text(session, '{"c":11,"rc":1}')
            return
        channel = _channel(message)
        ok = channel is not None and channel.data_type in _CHANNELS.get(session.path, ())
        if action == "subscribe" and ok and channel is not None:
            session.heard = self.monotonic()
            session.channels[channel] = self.monotonic()  # first push at once
            with self._lock:
                self.subscriptions += 1
        elif action == "unSubscribe" and channel is not None:
            session.channels.pop(channel, None)
        if action in ("subscribe", "unSubscribe") and not self.faults.stalled():
            self._send_text(session, json.dumps({"action": action, "result": ok,
                                                 "dataType": message.get("dataType")}))

    def _push_due(self, session: _Session) -> None:
        now = self.monotonic()
        for channel, due in list(session.channels.items()):
            if due > now:
                continue
            every = self.chain_every if channel.data_type == "tOption" else self.push_every
            session.channels[channel] = now + every
            message = self._message(channel)
            if message is None:
                continue
            self._push(session, message)
            previous = session.last_sent.get(channel)
            if previous is not None and self.faults.reorder_now(session.pushes):
                self._push(session, previous)
            session.last_sent[channel] = message
            session.pushes += 1

    def _push(self, session: _Session, message: str) -> None:
        """Send now, or queue behind the late ones (a lag fault): order is kept."""
        delay = self.faults.delay()
        if delay <= 0 and not session.late:
            self._send_text(session, message)
            return
        at = self.monotonic() + delay
        session.late.append((max(at, session.late[-1][0]) if session.late else at, message))

    def _deliver_late(self, session: _Session) -> None:
        now = self.monotonic()
        while session.late and session.late[0][0] <= now:
            self._send_text(session, session.late.popleft()[1])

    def _message(self, channel: Channel) -> str | None:
        try:
            now = self._clock.now()
            data = self._data(channel, now)
        except (ExchangeError, ValueError):
            return None
        if data is None:
            return None
        dt, body = data
        return json.dumps({"dt": dt, "c": 20, "d": body, "ts": to_epoch_ms(now)},
                          separators=(",", ":"))

    def _data(self, channel: Channel, now: datetime) -> tuple[int, Any] | None:
        ms = to_epoch_ms(now)
        if channel.data_type == "orderBook":
            return 5, _book(self._exchange.orderbook(channel.symbol), ms)
        underlying = Underlying(channel.symbol.removesuffix("USD"))
        if channel.data_type == "spotPrice":
            index = str(self._exchange.index_price(underlying))
            return 30, {"s": channel.symbol, "ip": index, "mp": index, "pr": index, "ts": ms}
        if channel.end_ms is None:
            return None
        expiry = datetime.fromtimestamp(channel.end_ms / 1000, tz=now.tzinfo)
        quotes = self._exchange.option_chain(underlying, expiry)
        return 4, [_ticker(q, ms) for q in quotes]

    def _send_text(self, session: _Session, message: str) -> None:
        self._send(session, ws_frames.text(message))

    @staticmethod
    def _send(session: _Session, frame: bytes) -> None:
        session.sock.sendall(frame)


def _login_sign(secret: str, name: str, key: str, ts: str) -> str:
    prehash = f"GET/users/self/verify?{name}={key}&ts={ts}"
    return hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).hexdigest().upper()


def _channel(message: Mapping[str, Any]) -> Channel | None:
    payload = message.get("payload")
    data_type = message.get("dataType")
    if not isinstance(payload, dict) or not isinstance(data_type, str):
        return None
    symbol, end = payload.get("symbol"), payload.get("end")
    if not isinstance(symbol, str) or not symbol:
        return None
    try:
        return Channel(data_type, symbol, int(end) if end is not None else None)
    except (TypeError, ValueError):
        return None


def _book(book: Book, ms: int) -> dict[str, Any]:
    return {"s": book.symbol,
            "bids": [{"pr": str(level.price), "sz": str(level.size)} for level in book.bids],
            "asks": [{"pr": str(level.price), "sz": str(level.size)} for level in book.asks],
            "ts": ms}


def _ticker(quote: OptionQuote, ms: int) -> dict[str, Any]:
    greeks = quote.greeks
    return {"s": quote.symbol, "bid": str(quote.bid or 0), "bs": str(quote.bid_size),
            "biv": 0, "ask": str(quote.ask or 0), "as": str(quote.ask_size), "aiv": 0,
            "mp": str(quote.mark or 0), "miv": quote.mark_iv or 0,
            "up": str(quote.underlying_price or 0),
            "delta": greeks.delta if greeks else 0, "gamma": greeks.gamma if greeks else 0,
            "vega": greeks.vega if greeks else 0, "theta": greeks.theta if greeks else 0,
            "ts": ms}
