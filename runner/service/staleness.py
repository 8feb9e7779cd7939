"""Stale prices (lessons C1: a frozen index went unnoticed for 7 hours).

`StalenessTracker` is pure: fed (key, value, at), it names the keys whose value has not
changed for the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

DEFAULT_MAX_UNCHANGED: Final = timedelta(seconds=60)  # lessons C1


@dataclass(frozen=True, slots=True)
class StaleValue:
    """A key whose value has not changed since `unchanged_since`."""

    key: str
    value: object
    unchanged_since: datetime

    def unchanged_for(self, now: datetime) -> timedelta:
        return now - self.unchanged_since


class StalenessTracker:
    """Names the keys whose observed value has not changed for `max_unchanged` (C1).

    A key that stops being observed at all is stale too: what matters is the time
    since its value last changed, measured at `now`.
    """

    def __init__(self, max_unchanged: timedelta = DEFAULT_MAX_UNCHANGED) -> None:
        if max_unchanged <= timedelta(0):
            raise ValueError("max_unchanged must be positive")
        self.max_unchanged = max_unchanged
        self._last: dict[str, StaleValue] = {}

    def observe(self, key: str, value: object, at: datetime) -> None:
        """Record the value of `key` seen at `at`."""
        last = self._last.get(key)
        changed = last is None or (last.value != value and at >= last.unchanged_since)
        if changed:
            self._last[key] = StaleValue(key, value, at)

    def forget(self, key: str) -> None:
        """Stop watching `key` (e.g. an instrument that expired)."""
        self._last.pop(key, None)

    def stale(self, now: datetime) -> tuple[StaleValue, ...]:
        """The keys unchanged for at least the limit at `now`, longest first."""
        found = (v for v in self._last.values() if v.unchanged_for(now) >= self.max_unchanged)
        return tuple(sorted(found, key=lambda v: (v.unchanged_since, v.key)))

    def is_stale(self, key: str, now: datetime) -> bool:
        last = self._last.get(key)
        return last is not None and last.unchanged_for(now) >= self.max_unchanged
