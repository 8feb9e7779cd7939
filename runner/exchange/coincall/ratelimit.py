"""Client-side rate limiting: a sliding window per rate class, with an injected clock.

Invariant: within any window of `per` seconds at most `calls` requests of one class
leave this process, so the exchange's documented limits (coincall-api.md section 7)
are never the thing that stops us. Waiting uses the injected `sleep`, so tests (and
the accelerated simulation) never really wait. A sliding log is used rather than a
token bucket because it is exact at window boundaries, which is what the exchange
counts.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping

from runner.exchange.coincall.endpoints import RateClass, RateLimit


class SlidingWindow:
    """At most `limit.calls` acquisitions in any `limit.per` window."""

    def __init__(self, limit: RateLimit) -> None:
        if limit.calls < 1 or limit.per.total_seconds() <= 0:
            raise ValueError(f"unusable rate limit {limit}")
        self._calls = limit.calls
        self._period = limit.per.total_seconds()
        self._sent: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        """Seconds to wait before one more request may leave at `now` (0 = go)."""
        while self._sent and now - self._sent[0] >= self._period:
            self._sent.popleft()
        if len(self._sent) < self._calls:
            return 0.0
        return self._sent[0] + self._period - now

    def record(self, now: float) -> None:
        self._sent.append(now)


class RateLimiter:
    """One sliding window per rate class; `acquire` blocks (via `sleep`) until allowed."""

    def __init__(self, *, now: Callable[[], float], sleep: Callable[[float], None],
                 limits: Mapping[RateClass, RateLimit] | None = None) -> None:
        chosen = {rate_class: rate_class.limit for rate_class in RateClass}
        chosen.update(limits or {})
        self._windows = {rate_class: SlidingWindow(limit) for rate_class, limit in chosen.items()}
        self._now = now
        self._sleep = sleep
        self._lock = threading.Lock()

    def acquire(self, rate_class: RateClass) -> float:
        """Wait until a request of `rate_class` may go, record it, and return the time waited."""
        waited = 0.0
        window = self._windows[rate_class]
        while True:
            with self._lock:
                now = self._now()
                delay = window.wait_needed(now)
                if delay <= 0:
                    window.record(now)
                    return waited
            self._sleep(delay)
            waited += delay
