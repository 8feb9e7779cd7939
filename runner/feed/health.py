"""The feed's health for the operator: a socket down too long is an open concern.

A dropped or stalled socket reconnects on its own and reads fall back to REST meanwhile,
so a short outage needs nobody. One down for `down_after` seconds (30) is reported to the
service's `Attention` under `feed.<stream>`: the heartbeat and `runner health` then show
it (degraded). It never blocks entries (REST still serves every decision) and is cleared
the moment the socket is back. Checked once per tick, on the loop thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Final, Protocol

from runner.domain.clock import Clock
from runner.feed.connection import FeedConnection
from runner.feed.source import MarketFeed

DOWN_AFTER: Final = 30.0


class Concerns(Protocol):
    def report(self, key: str, text: str, *, blocks_entries: bool = False,
               strategy: str | None = None) -> bool: ...

    def clear(self, key: str) -> bool: ...


class FeedHealth:
    """Raises `feed.options` / `feed.futures` while that socket stays down."""

    def __init__(self, feed: MarketFeed, clock: Clock, *, down_after: float = DOWN_AFTER,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._connections = (feed.options, feed.futures)
        self._clock = clock
        self._down_after = down_after
        self._monotonic = monotonic
        self._down_since: dict[str, tuple[float, datetime]] = {}

    def observe(self, concerns: Concerns) -> None:
        for connection in self._connections:
            self._observe(connection, concerns)

    def _observe(self, connection: FeedConnection, concerns: Concerns) -> None:
        key = f"feed.{connection.name}"
        if connection.connected.is_set():
            self._down_since.pop(connection.name, None)
            concerns.clear(key)
            return
        since = self._down_since.setdefault(connection.name,
                                            (self._monotonic(), self._clock.now()))
        if self._monotonic() - since[0] < self._down_after:
            return
        why = connection.stats.last_problem or "no answer"
        concerns.report(key, f"market feed ({connection.name}) down since {since[1]:%H:%M:%S} "
                             f"UTC ({why}); prices are read over REST until it is back")
