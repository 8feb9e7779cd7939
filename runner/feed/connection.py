"""One Coincall WebSocket kept alive on its own thread (`websocket-client`).

Owns the socket's life: connect (the URL is rebuilt on every attempt, since a signed URL's
`ts` ages), send every wanted subscription, send `{"action":"heartbeat"}` every
`heartbeat_every` seconds, hand every received text frame to `on_frame`, and reconnect
with backoff (1 s doubling to 60 s, as the live clients do) when the socket drops, when
no heartbeat reply came for `2 x heartbeat_every`, or when nothing at all arrived for
`silence_limit` seconds (a silent stall with the socket still open). After a reconnect
every subscription is sent again. Every duration (beats, silence, backoff) is read on
`monotonic`, so a campaign on simulated time runs the connection on that time too. Only
this thread writes to the socket: subscription
changes from other threads are queued and sent from here. The URL may carry the API key
and a signature: it is never logged, and errors are logged by their type and message only.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import websocket
from loguru import logger

from runner.feed.messages import (
    HEARTBEAT_MESSAGE,
    Subscription,
    subscribe_message,
    unsubscribe_message,
)

HEARTBEAT_EVERY: Final = 5.0  # seconds ([RM]; the docs say 3)
BACKOFF_START: Final = 1.0
BACKOFF_MAX: Final = 60.0
CONNECT_TIMEOUT: Final = 5.0
_POLL: Final = 0.05  # receive timeout: how often the thread looks at its switches


@dataclass(frozen=True, slots=True)
class Timing:
    heartbeat_every: float = HEARTBEAT_EVERY
    silence_limit: float = 2 * HEARTBEAT_EVERY
    backoff_start: float = BACKOFF_START
    backoff_max: float = BACKOFF_MAX
    connect_timeout: float = CONNECT_TIMEOUT
    poll: float = _POLL  # real seconds


@dataclass(slots=True)
class ConnectionStats:
    connects: int = 0
    drops: int = 0  # connections that ended (dropped, stalled, refused)
    stalls: int = 0  # of which: silence or missing heartbeat replies
    subscribe_sent: int = 0
    resubscribed: int = 0  # sessions after the first that sent the wanted channels again
    bad_frames: int = 0
    last_problem: str = ""
    problems: list[str] = field(default_factory=list)


class FeedConnection:
    """A self-healing WebSocket; `on_frame(text) -> bool` says whether it was a beat reply."""

    def __init__(self, name: str, url: Callable[[], str], on_frame: Callable[[str], bool],
                 timing: Timing | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._monotonic = monotonic
        self._url = url
        self._on_frame = on_frame
        self.timing = timing or Timing()
        self._wanted: set[Subscription] = set()
        self._changes: list[tuple[bool, Subscription]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self._received = False
        self.stats = ConnectionStats()
        # For a campaign on simulated time to keep in step with this thread: the clock
        # reading of its last finished turn, and whether a heartbeat awaits its reply.
        self.progress = float("-inf")
        self.beat_pending = False

    # -- any thread ----------------------------------------------------------------------
    def start(self) -> FeedConnection:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"feed-{self.name}",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def want(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription not in self._wanted:
                self._wanted.add(subscription)
                self._changes.append((True, subscription))

    def drop(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._wanted:
                self._wanted.discard(subscription)
                self._changes.append((False, subscription))

    @property
    def wanted(self) -> frozenset[Subscription]:
        with self._lock:
            return frozenset(self._wanted)

    # -- the connection thread -----------------------------------------------------------
    def _run(self) -> None:
        backoff = self.timing.backoff_start
        while not self._stop.is_set():
            served = self._session()
            self.connected.clear()
            if self._stop.is_set():
                return
            backoff = self.timing.backoff_start if served else min(
                backoff * 2, self.timing.backoff_max)
            self._wait(backoff)

    def _wait(self, seconds: float) -> None:
        """Sleep `seconds` of the connection's clock, or until stopped."""
        end = self._monotonic() + seconds
        while not self._stop.is_set() and self._monotonic() < end:
            self._stop.wait(self.timing.poll)

    def _session(self) -> bool:
        """One connection from connect to its end; True when it ever received data."""
        try:
            ws = websocket.create_connection(self._url(), timeout=self.timing.connect_timeout)
        except Exception as error:  # refused, timed out, bad status: try again later
            self._note(f"connect failed: {type(error).__name__}")
            return False
        self.stats.connects += 1
        self._received = False
        try:
            self._serve(ws)
        except Exception as error:  # closed by the server, reset, broken frame
            self._note(f"connection lost: {type(error).__name__}")
        finally:
            self.stats.drops += 1
            with contextlib.suppress(Exception):
                ws.close(timeout=0.2)
        return self._received

    def _serve(self, ws: websocket.WebSocket) -> None:
        ws.settimeout(self.timing.poll)
        with self._lock:
            self._changes = []
            resend = sorted(self._wanted, key=repr)
        for subscription in resend:
            self._send(ws, subscribe_message(subscription))
        self.stats.resubscribed += self.stats.connects > 1 and bool(resend)
        self.connected.set()
        now = self._monotonic()
        heard = beat_reply = now
        next_beat = now  # the first heartbeat at once: it proves the link
        self.beat_pending = False
        while not self._stop.is_set():
            now = self._monotonic()
            if now >= next_beat:
                self._send(ws, HEARTBEAT_MESSAGE)
                self.beat_pending = True
                next_beat = now + self.timing.heartbeat_every
            self._send_changes(ws)
            try:
                text = ws.recv()
            except websocket.WebSocketTimeoutException:
                text = None
            if text:
                heard = self._monotonic()
                self._received = True
                if self._handle(text):
                    beat_reply = heard
                    self.beat_pending = False
            if self._stalled(heard, beat_reply):
                return
            self.progress = now

    def _handle(self, text: str | bytes) -> bool:
        try:
            return self._on_frame(text if isinstance(text, str) else text.decode())
        except ValueError as error:
            self.stats.bad_frames += 1
            self._note(f"unreadable frame: {error}")
            return False

    def _stalled(self, heard: float, beat_reply: float) -> bool:
        now = self._monotonic()
        silent = now - heard > self.timing.silence_limit
        unanswered = now - beat_reply > 2 * self.timing.heartbeat_every
        if silent or unanswered:
            self.stats.stalls += 1
            self._note("silent: no data" if silent else "no heartbeat reply")
            return True
        return False

    def _send_changes(self, ws: websocket.WebSocket) -> None:
        with self._lock:
            changes, self._changes = self._changes, []
        for wanted, subscription in changes:
            message = subscribe_message(subscription) if wanted else unsubscribe_message(
                subscription)
            self._send(ws, message)

    def _send(self, ws: websocket.WebSocket, message: str) -> None:
        ws.send(message)
        if '"subscribe"' in message:
            self.stats.subscribe_sent += 1

    def _note(self, problem: str) -> None:
        self.stats.last_problem = problem
        self.stats.problems = [*self.stats.problems[-19:], problem]
        logger.debug("market feed {}: {}", self.name, problem)
