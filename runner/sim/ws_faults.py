"""Faults of the simulator's WebSocket feed, switched on by tests and benchmarks.

- `drop`: close every open feed socket at once (the client must reconnect and
  resubscribe; pushes are lost while it is down);
- `stall`: stop sending anything, heartbeat replies included, for some seconds while
  keeping the sockets open (the client must notice the silence, count the feed stale and
  reconnect);
- `out_of_order`: for the next N pushes, send the previous push of the same channel
  again right after the new one (older `ts`: the client must drop it);
- `lag`: for some seconds, deliver every push some seconds after it was read from the
  market (a congested link: frames arrive late but steadily, heartbeats are answered at
  once, so the socket looks healthy while its prices are old: the client must judge a
  price by its `ts`, not by its arrival).
They can also be given to `runner sim-server --ws-faults` as `drop_every=S`,
`stall_every=S`, `stall_for=S`, `out_of_order_every=N`, `lag_every=S`, `lag_for=S`,
`lag_by=S` (see `WsFaultPlan.parse`). Every duration is read on `monotonic`: a campaign
on simulated time passes the simulated clock.
Thread-safe: sessions read the switches on their own threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WsFaultPlan:
    """Recurring faults for a whole sim-server run (0 = off)."""

    drop_every: float = 0.0  # seconds of a session's life before it is dropped
    stall_every: float = 0.0  # seconds between stalls
    stall_for: float = 0.0  # how long a stall lasts
    out_of_order_every: int = 0  # every Nth push is followed by the previous one
    lag_every: float = 0.0  # seconds between lags
    lag_for: float = 0.0  # how long pushes are delivered late
    lag_by: float = 0.0  # how late

    @classmethod
    def parse(cls, text: str) -> WsFaultPlan:
        """`drop_every=20,stall_every=30,stall_for=8,out_of_order_every=5`."""
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, raw = part.partition("=")
            if name not in cls.__dataclass_fields__:
                known = ", ".join(cls.__dataclass_fields__)
                raise ValueError(f"unknown WebSocket fault {name!r}; known: {known}")
            try:
                values[name] = float(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r}: write a number of seconds (or pushes)"
                                 ) from None
            if values[name] < 0:
                raise ValueError(f"{name} must not be negative")
        every = int(values.pop("out_of_order_every", 0))
        return cls(out_of_order_every=every, **values)


class WsFaults:
    """The live switches every session consults."""

    def __init__(self, plan: WsFaultPlan | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.plan = plan or WsFaultPlan()
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._drop_generation = 0
        self._stalled_until = 0.0
        self._out_of_order_left = 0
        self._lag_until = 0.0
        self._lag_by = 0.0
        self._started = monotonic()
        self.drops = 0
        self.stalls = 0
        self.reordered = 0
        self.lags = 0
        self.delayed = 0  # pushes delivered late

    def drop(self) -> None:
        """Close every feed socket open now."""
        with self._lock:
            self._drop_generation += 1
            self.drops += 1

    def stall(self, seconds: float) -> None:
        """Send nothing for `seconds`, sockets kept open."""
        with self._lock:
            self._stalled_until = max(self._stalled_until, self._monotonic() + seconds)
            self.stalls += 1

    def out_of_order(self, pushes: int) -> None:
        with self._lock:
            self._out_of_order_left += pushes

    def lag(self, by: float, lasting: float) -> None:
        """For `lasting` seconds, deliver each push `by` seconds after it was read."""
        with self._lock:
            self._lag_until = max(self._lag_until, self._monotonic() + lasting)
            self._lag_by = by
            self.lags += 1

    # -- what sessions ask -------------------------------------------------------------
    @property
    def drop_generation(self) -> int:
        with self._lock:
            return self._drop_generation

    def should_drop(self, generation: int, session_age: float) -> bool:
        every = self.plan.drop_every
        with self._lock:
            return generation != self._drop_generation or (0 < every <= session_age)

    def stalled(self) -> bool:
        now = self._monotonic()
        plan = self.plan
        if plan.stall_every > 0 and plan.stall_for > 0:
            cycle = (now - self._started) % (plan.stall_every + plan.stall_for)
            if cycle >= plan.stall_every:
                return True
        with self._lock:
            return now < self._stalled_until

    def delay(self) -> float:
        """How many seconds late a push read from the market now is delivered."""
        now = self._monotonic()
        plan = self.plan
        by = 0.0
        if plan.lag_every > 0 and plan.lag_for > 0 and plan.lag_by > 0:
            cycle = (now - self._started) % (plan.lag_every + plan.lag_for)
            by = plan.lag_by if cycle >= plan.lag_every else 0.0
        with self._lock:
            if now < self._lag_until:
                by = max(by, self._lag_by)
            self.delayed += by > 0
        return by

    def reorder_now(self, pushes: int) -> bool:
        """Whether this push is followed by the previous one of its channel."""
        with self._lock:
            if self._out_of_order_left > 0:
                self._out_of_order_left -= 1
                self.reordered += 1
                return True
            every = self.plan.out_of_order_every
            if every > 0 and pushes % every == every - 1:
                self.reordered += 1
                return True
        return False
