"""A set of integers that only grows, at 8 bytes an id: the client order ids of forgotten orders.

Coincall refuses a client order id used before (10577), so the simulated venue must
remember every one it accepted even after it forgets the order itself (retention.py).
A Python set costs ~70 bytes an id (the int object, its slot); this keeps them in one
sorted `array('q')`, merged in batches (the venue forgets once a simulated day), looked up
by bisection. An id outside the signed 64-bit range (a client may send any long) goes to
a small ordinary set instead.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Final

_LOWEST: Final = -(2**63)
_HIGHEST: Final = 2**63 - 1


class CompactIdSet:
    """Membership and iteration (ascending, then the few outside 64 bits); no removal."""

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._sorted = array("q")
        self._other: set[int] = set()
        self.update(ids)

    def update(self, ids: Iterable[int]) -> None:
        """Add a batch of ids (one merge of the held array per batch)."""
        fitting = []
        for value in ids:
            if _LOWEST <= value <= _HIGHEST:
                fitting.append(value)
            else:
                self._other.add(value)
        fresh = sorted(value for value in set(fitting) if value not in self)
        if fresh:
            self._sorted = array("q", heapq.merge(self._sorted, fresh))

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        if not _LOWEST <= value <= _HIGHEST:
            return value in self._other
        at = bisect_left(self._sorted, value)
        return at < len(self._sorted) and self._sorted[at] == value

    def __iter__(self) -> Iterator[int]:
        yield from self._sorted
        yield from sorted(self._other)

    def __len__(self) -> int:
        return len(self._sorted) + len(self._other)
