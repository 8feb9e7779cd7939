"""The strategy copies of trades: the rules each trade opened with (issue 7 item 2).

Two tables, added by schema version 3 (`MIGRATION`):
- `strategy_copies`: one row per distinct copy, keyed by its content hash (the copy is
  the source documents the strategy was loaded from, as JSON; see runner/strategy/origin.py);
- `trade_strategy_copies`: which copy each trade opened with.
A trade from before version 3 has no row: the service then manages it with the current
file and says so. Both tables only grow: a copy is never rewritten (same hash, same
text), and a trade's link is written once, with the trade's first save, in the same
transaction (a trade never exists without the rules it opened with).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from runner.store.codec import time_text

MIGRATION: Final = """
CREATE TABLE IF NOT EXISTS strategy_copies (
    copy_hash TEXT PRIMARY KEY,
    strategy TEXT NOT NULL,
    documents TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trade_strategy_copies (
    trade_id TEXT PRIMARY KEY REFERENCES trades (trade_id),
    copy_hash TEXT NOT NULL REFERENCES strategy_copies (copy_hash)
);
CREATE TRIGGER IF NOT EXISTS strategy_copies_no_update BEFORE UPDATE ON strategy_copies
BEGIN SELECT RAISE(ABORT, 'strategy copies are never rewritten'); END;
"""
TABLES: Final = frozenset({"strategy_copies", "trade_strategy_copies"})


@dataclass(frozen=True, slots=True)
class StoredCopy:
    """One trade's copy: its content hash and the documents (JSON text)."""

    trade_id: str
    strategy: str
    copy_hash: str
    documents: str


class StrategyCopiesMixin:
    """Write a trade's strategy copy with it; read the copies of trades in flight."""

    _connection: sqlite3.Connection

    if TYPE_CHECKING:
        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def now(self) -> datetime: ...

    def save_strategy_copy(self, trade_id: str, strategy: str, copy_hash: str,
                           documents: str) -> None:
        """Link `trade_id` to the copy (stored once per hash); the trade must be saved."""
        with self.transaction() as tx:
            tx.execute("INSERT INTO strategy_copies (copy_hash, strategy, documents, created_at)"
                       " VALUES (?,?,?,?) ON CONFLICT (copy_hash) DO NOTHING",
                       (copy_hash, strategy, documents, time_text(self.now())))
            tx.execute("INSERT INTO trade_strategy_copies (trade_id, copy_hash) VALUES (?,?)"
                       " ON CONFLICT (trade_id) DO NOTHING", (trade_id, copy_hash))

    def strategy_copies(self, trade_ids: Iterable[str]) -> dict[str, StoredCopy]:
        """The stored copy of each of `trade_ids` that has one, by trade id."""
        found: dict[str, StoredCopy] = {}
        for trade_id in sorted(set(trade_ids)):  # a handful of trades in flight
            row = self._connection.execute(
                "SELECT t.trade_id, c.strategy, c.copy_hash, c.documents"
                " FROM trade_strategy_copies t JOIN strategy_copies c USING (copy_hash)"
                " WHERE t.trade_id = ?", (trade_id,)).fetchone()
            if row is not None:
                found[trade_id] = StoredCopy(*row)
        return found
