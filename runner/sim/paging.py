"""Cursor paging of Coincall's history calls, as the docs describe it.

Coincall's rule ([D26] `_base_en.md` "Pagination query", docs/exchange-evidence.md): `fromId`
null or 0 is the most recent page; `direction=NEXT` (the default) pages to older rows,
`id < fromId`, newest first; `PREV` pages to newer rows, `id > fromId`, taken oldest first
and shown newest first. `hasNext` says whether rows lie further in the paging direction.

`trade/history` documents its `fromId` as "minimum tradeId" instead (finding 5), so its
paging is a choice (`FillsPaging`): the general rule (the default) or that older reading,
rows oldest first with `id > fromId`. The adapter must be right under both.
Invariant: a page never holds a row twice, and following `fromId` = the last row's id
visits every row exactly once in either direction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")


class Direction(Enum):
    NEXT = "NEXT"  # older rows: id < fromId, newest first
    PREV = "PREV"  # newer rows: id > fromId


class FillsPaging(Enum):
    """How the simulator reads `fromId` of `trade/history` (the docs say both)."""

    NEWEST_FIRST = "newest-first"  # the general rule: NEXT, id < fromId
    OLDEST_FIRST = "oldest-first"  # "minimum tradeId": ascending, id > fromId


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    has_next: bool
    has_prev: bool


def direction_of(text: object) -> Direction | None:
    """`direction` as sent (default NEXT); None for a value Coincall would refuse."""
    if text in (None, ""):
        return Direction.NEXT
    try:
        return Direction(str(text).upper())
    except ValueError:
        return None


def cursor_page(rows: Sequence[T], key: Callable[[T], int], *, from_id: int,
                direction: Direction, size: int) -> Page[T]:
    """One page of `rows` (any order) by the docs' rule; `from_id` 0 = the newest page."""
    newest_first = sorted(rows, key=key, reverse=True)
    if direction is Direction.PREV and from_id:
        newer = [row for row in reversed(newest_first) if key(row) > from_id]
        shown = newer[:size]
        return Page(list(reversed(shown)), has_next=len(newer) > size,
                    has_prev=any(key(row) <= from_id for row in rows))
    older = [row for row in newest_first if not from_id or key(row) < from_id]
    return Page(older[:size], has_next=len(older) > size,
                has_prev=bool(from_id) and any(key(row) >= from_id for row in rows))


def fills_page(rows: Sequence[T], key: Callable[[T], int], *, from_id: int, size: int,
               paging: FillsPaging) -> Page[T]:
    """One page of `trade/history` under the configured reading of `fromId`."""
    if paging is FillsPaging.NEWEST_FIRST:
        return cursor_page(rows, key, from_id=from_id, direction=Direction.NEXT, size=size)
    later = sorted((row for row in rows if key(row) > from_id), key=key)
    return Page(later[:size], has_next=len(later) > size, has_prev=bool(from_id))
