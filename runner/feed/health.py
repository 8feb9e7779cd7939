"""The feed's health for the operator: a socket down too long is an open concern.

A dropped or stalled socket reconnects on its own and reads fall back to REST meanwhile,
so a short outage needs nobody. One down for `down_after` seconds (30) is reported to the
service's `Attention` under `feed.<stream>`: the heartbeat and `runner health` then show
it (degraded). It never blocks entries (REST still serves every decision) and is cleared
the moment the socket is back. Checked once per tick, on the loop thread.

A socket can also look healthy while its prices are useless: pushes that arrive already
older than the stale limit (a lagging link, or a local clock ahead of the exchange's)
are never used, so every read silently goes to REST. When every push taken for
`down_after` seconds arrived that late, `feed.lagging` says so; the first push on time
clears it.
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
        self._counters = feed.cache.counters
        self._stale_after = feed.cache.stale_after
        self._taken = (self._counters.accepted, self._counters.late)
        self._late_since: tuple[float, datetime] | None = None

    def observe(self, concerns: Concerns) -> None:
        for connection in self._connections:
            self._observe(connection, concerns)
        self._observe_lag(concerns)

    def _observe_lag(self, concerns: Concerns) -> None:
        accepted, late = self._counters.accepted, self._counters.late
        taken, taken_late = accepted - self._taken[0], late - self._taken[1]
        self._taken = (accepted, late)
        if taken > taken_late:  # a push on time: the feed serves
            self._late_since = None
            concerns.clear("feed.lagging")
            return
        if taken == 0:  # nothing arrived: the socket checks above cover a silence
            return
        if self._late_since is None:
            self._late_since = (self._monotonic(), self._clock.now())
        if self._monotonic() - self._late_since[0] >= self._down_after:
            concerns.report("feed.lagging", f"market feed lagging since "
                            f"{self._late_since[1]:%H:%M:%S} UTC: every price pushed arrives "
                            f"more than {self._stale_after:g} s old (a slow link, or this "
                            "machine's clock ahead of the exchange's); prices are read over "
                            "REST until it catches up")

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
