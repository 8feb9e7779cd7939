"""A short-lived market-data cache: TTL, bounded size, least recently used eviction.

Invariant (lessons C1): every entry carries the moment its value was fetched, and
no reader can get a value older than the TTL. There is no way to reach the stored
entries except through `get`/`get_or_load`, which check the age on every read, and a
value is stamped once, when it is loaded, never again. `fresh=True` skips the cache
(and refreshes it) when freshness matters, e.g. before pricing an order.

Only market data (instruments, chains) is cached; orders, positions and the account
are always read live.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Generic, TypeVar

V = TypeVar("V")

DEFAULT_TTL: Final = timedelta(seconds=30)
DEFAULT_MAX_ENTRIES: Final = 100


@dataclass(frozen=True, slots=True)
class Cached(Generic[V]):
    """A value and the moment it was fetched from the exchange."""

    value: V
    fetched_at: datetime

    def age(self, now: datetime) -> timedelta:
        return now - self.fetched_at


class TtlCache(Generic[V]):
    """Up to `max_entries` values, each served for at most `ttl` after it was fetched."""

    def __init__(self, *, now: Callable[[], datetime], ttl: timedelta = DEFAULT_TTL,
                 max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if ttl <= timedelta(0) or max_entries < 1:
            raise ValueError("a cache needs a positive TTL and room for one entry")
        self._now = now
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[Hashable, Cached[V]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: Hashable) -> Cached[V] | None:
        """The entry under `key` if it is younger than the TTL; an expired one is dropped."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.age(self._now()) >= self._ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def get_or_load(self, key: Hashable, load: Callable[[], V], *, fresh: bool = False) -> V:
        """The cached value, or `load()`'s result (stored, stamped with the time it was asked)."""
        if not fresh:
            entry = self.get(key)
            if entry is not None:
                return entry.value
        asked_at = self._now()
        value = load()
        self._store(key, Cached(value, asked_at))
        return value

    def invalidate(self, key: Hashable | None = None) -> None:
        """Forget one entry, or every entry when `key` is None."""
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)

    def _store(self, key: Hashable, entry: Cached[V]) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
