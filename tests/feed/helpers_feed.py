"""A loopback `SimServer` with its WebSocket feed, a feed client on short timings, and
a REST port that counts its reads (what the feed saves is what it does not count)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from runner.exchange.port import Exchange
from runner.feed.connection import Timing

FAST = Timing(heartbeat_every=0.2, silence_limit=0.6, backoff_start=0.05, backoff_max=0.2,
              connect_timeout=2.0)
STALE_AFTER = 0.5


class CountingRest:
    """The venue as the REST port, counting market reads by method."""

    def __init__(self, venue: Exchange) -> None:
        self._venue = venue
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._venue, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return target(*args, **kwargs)

        return counted

    def count(self, name: str) -> int:
        return self.calls.get(name, 0)


def eventually(what: str, check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def ws_urls(base_url: str) -> tuple[str, str]:
    root = base_url.replace("http://", "ws://")
    return f"{root}/options", f"{root}/futures"
