"""Time as an injected dependency.

The core never reads the wall clock: it is handed a `Clock`. `SystemClock` is the
real one; `ManualClock` is advanced by tests and by the accelerated simulation, which
is what lets 48 hours run in seconds. Every datetime here is aware and in UTC.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Source of the current time (aware UTC) and of waiting."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to; `sleep` advances it instantly."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=max(0.0, seconds)))

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward (never backward) and return the new time."""
        if delta < timedelta(0):
            raise ValueError("a clock never goes backward")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when`, which must not be in the past of this clock."""
        when = ensure_utc(when)
        if when < self._now:
            raise ValueError("a clock never goes backward")
        self._now = when


def ensure_utc(when: datetime) -> datetime:
    """Return `when` as aware UTC; a naive datetime is a programming error."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}: every time in runner is aware UTC")
    return when.astimezone(UTC)


def to_epoch_ms(when: datetime) -> int:
    return round(ensure_utc(when).timestamp() * 1000)


def from_epoch_ms(ms: int | float | str) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)
