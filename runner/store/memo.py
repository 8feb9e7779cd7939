"""Reads of the ledgers remembered until the store's own connection next changes a row.

The service reads its live orders and active RFQs at every tick's poll, and most ticks
write nothing (issue 12: a statement costs tens of microseconds in a running service,
the whole tick about one millisecond). Those ledgers are written only through the
service's own connection while it runs (the command line refuses to write then; the
operator's requests go through `control_requests`), and SQLite counts every row this
connection inserts, updates or deletes (`Connection.total_changes`, rolled-back changes
too). A read is therefore answered from memory exactly while that count has not moved
since it was made: the store stays the truth, a write of any row forgets every read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ChangeMemo:
    """Read results of a connection, kept until it changes a row. The connection is given
    at every read: the store switches to a new one when it writes its file back
    (file_watch.write_back), and a read through another connection is read again."""

    __slots__ = ("_at", "_connection", "_kept")

    def __init__(self) -> None:
        self._connection: sqlite3.Connection | None = None
        self._at = -1
        self._kept: dict[str, tuple[object, ...]] = {}

    def rows(self, connection: sqlite3.Connection, key: str,
             read: Callable[[], list[T]]) -> list[T]:
        """`read()`, or the rows it gave under `key` while nothing changed since (a new
        list each time: the caller may change it; the rows themselves are frozen)."""
        changes = connection.total_changes
        if connection is not self._connection or changes != self._at:
            self._kept.clear()
            self._connection, self._at = connection, changes
        found = self._kept.get(key)
        if found is None:
            found = self._kept[key] = tuple(read())
        return list(found)  # type: ignore[arg-type]
