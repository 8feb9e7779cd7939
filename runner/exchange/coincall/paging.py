"""Reading Coincall's cursor-paged history calls so that the answer is right whichever way
the exchange reads `fromId`.

The docs say two things (docs/exchange-evidence.md, findings 4 and 5): the general rule
pages newest first, `direction=NEXT` returning ids below `fromId`; `trade/history` calls
its `fromId` the "minimum tradeId" (rows oldest first, ids above it). The next cursor is
therefore the last row of the page just read (its oldest row in the first reading, its
newest in the second): right in both. On top of that, reading stops

- when a page brings no row not already seen (a server reading the cursor the other way
  would otherwise return the same page forever),
- when the server says no page follows (`hasNext` false),
- when a page reaches a row older than `since` (newest first, every later page is older),
- after `max_pages` pages, a runaway guard.

Rows are de-duplicated by id. Pure: the page fetch is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

T = TypeVar("T")

Fetch = Callable[[Mapping[str, object]], tuple[list[T], bool]]


def read_pages(fetch: Fetch[T], params: Mapping[str, object], *, row_id: Callable[[T], str],
               row_at: Callable[[T], datetime | None], since: datetime,
               max_pages: int) -> list[T]:
    """Every row the pages hold from now back to `since` (and perhaps a few older ones)."""
    seen: dict[str, T] = {}
    query = dict(params)
    for _ in range(max_pages):
        rows, has_next = fetch(query)
        fresh = [row for row in rows if row_id(row) not in seen]
        seen.update((row_id(row), row) for row in fresh)
        cursor = _cursor(rows[-1], row_id) if rows else None
        if not fresh or not has_next or cursor is None or _reaches(rows, row_at, since):
            break
        query["fromId"] = cursor
    return list(seen.values())


def _cursor(row: T, row_id: Callable[[T], str]) -> int | None:
    text = row_id(row)
    return int(text) if text.isdigit() else None


def _reaches(rows: list[T], row_at: Callable[[T], datetime | None], since: datetime) -> bool:
    return any((at := row_at(row)) is not None and at < since for row in rows)
