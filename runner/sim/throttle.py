"""The simulated exchange's rate limits: the per-class budgets of coincall-api.md section 7.

Owns the venue's side of throttling, so the runner's client-side limiter is tested
against a venue that says no (issue 8, finding 6). The table below is written from the
docs (section 7, whose rows are the docs' "General Info on Limits" table: one row, one
budget), not from the adapter's `endpoints.py`; calls the docs give no limit are never
throttled. Counting is a sliding log per (class, scope): a request is allowed when
fewer than `calls` requests of its class were allowed in the last `per` seconds of the
venue's clock (the clock the simulated market runs on), and a refused request does not
count. The scope is the API key ("per User ID") or, for public config, the client
address ("per IP address").

The answer to a throttled request: HTTP 200 with code 10605 "too frequent". Source:
coincall-api.md section 7 ("Throttling shows as 10000 or 10605") and section 8 (10605
= too frequent; 10000 = try again later, a transient throttle that [RM] saw for minutes
on testnet quote cancels, pitfall 9). 10605 is the code the docs tie to call frequency;
both are errors in an HTTP 200 envelope, as Coincall answers errors (section 2).

Thread-safe: the HTTP server answers requests on several threads.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final

THROTTLE_CODE: Final = 10605
THROTTLE_MESSAGE: Final = "Too frequent, please try again later"


class Scope(Enum):
    USER = "per User ID"
    IP = "per IP address"


@dataclass(frozen=True, slots=True)
class VenueLimit:
    """At most `calls` requests of one class in any `per_seconds` window, per scope."""

    name: str
    calls: int
    per_seconds: float
    scope: Scope
    routes: frozenset[str]


# coincall-api.md section 7. Route names are the simulator's (`sim.faults.ENDPOINTS`).
VENUE_LIMITS: Final[tuple[VenueLimit, ...]] = (
    VenueLimit("public config", 10, 2.0, Scope.IP, frozenset({"public_config"})),
    VenueLimit("positions and open orders", 5, 1.0, Scope.USER,
               frozenset({"positions", "open_orders"})),
    # [D26] 5 / 1 s ([D24] 4 / 1 s); the venue enforces the current docs.
    VenueLimit("order history and transactions", 5, 1.0, Scope.USER,
               frozenset({"order_history", "fills"})),
    VenueLimit("account information", 2, 1.0, Scope.USER, frozenset({"account"})),
    VenueLimit("orderbook", 30, 2.0, Scope.USER, frozenset({"orderbook"})),
    # Endpoint pages also say 60 / s; section 7 says plan for 30 / 2 s. The docs' table
    # lists place and cancel as two rows: two budgets.
    VenueLimit("place order", 30, 2.0, Scope.USER, frozenset({"place_order"})),
    VenueLimit("cancel order", 30, 2.0, Scope.USER, frozenset({"cancel_order"})),
    VenueLimit("delivery prices", 1, 1.0, Scope.IP, frozenset({"delivery_price"})),
)


class Throttle:
    """Decides, per request, whether the venue's budget for its class has room."""

    def __init__(self, now: Callable[[], datetime], *, enabled: bool = True,
                 limits: tuple[VenueLimit, ...] = VENUE_LIMITS) -> None:
        self._now = now
        self._enabled = enabled
        self._by_route: Mapping[str, VenueLimit] = {
            route: limit for limit in limits for route in limit.routes}
        self._log: dict[tuple[str, str], deque[float]] = {}
        self._refused: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def refused(self) -> int:
        """How many requests were answered as throttled since the start."""
        with self._lock:
            return sum(self._refused.values())

    def refused_by_class(self) -> dict[str, int]:
        with self._lock:
            return dict(self._refused)

    def admit(self, route: str, *, user: str, address: str) -> bool:
        """True (and counted) if the request may go on; False if it is throttled."""
        limit = self._by_route.get(route)
        if not self._enabled or limit is None:
            return True
        who = user if limit.scope is Scope.USER and user else address
        now = self._now().timestamp()
        with self._lock:
            sent = self._log.setdefault((limit.name, who), deque())
            while sent and now - sent[0] >= limit.per_seconds:
                sent.popleft()
            if len(sent) >= limit.calls:
                self._refused[limit.name] = self._refused.get(limit.name, 0) + 1
                return False
            sent.append(now)
            return True
