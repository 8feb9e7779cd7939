"""What the store knows about itself and about positions that are not the runner's.

Three small tables beside the trades (issue 7):
- `store_meta`: key/value facts: the environment the store belongs to, and the last
  verdict of the store-truth check (so `runner status` can say "DECISION NEEDED" even
  while the service is stopped);
- `external_positions`: positions the operator declared someone else's
  (`runner trades external`); the store-truth check counts them as explained;
- `daily_recounts`: trades per strategy and UTC day recounted from the exchange's
  fills when the store started blank, so the daily limits honour trades the lost
  store had made (and keep honouring them after a restart).

Deliberate choice: these tables are created with `CREATE TABLE IF NOT EXISTS` on every
open instead of a numbered migration. They are additive, never read by an older runner,
and creating them this way keeps the schema version free for the trade tables.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from runner.store.codec import time_text

META_TABLES: Final = """
CREATE TABLE IF NOT EXISTS store_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS external_positions (
    symbol TEXT PRIMARY KEY,
    qty TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS daily_recounts (
    day TEXT NOT NULL,
    strategy TEXT NOT NULL,
    trades INTEGER NOT NULL,
    last_at TEXT,
    recounted_at TEXT NOT NULL,
    PRIMARY KEY (day, strategy)
);
"""

ENVIRONMENT_KEY: Final = "environment"
TRUTH_KEY: Final = "store_truth"


@dataclass(frozen=True, slots=True)
class Recount:
    """Trades one strategy made on one UTC day, as recounted from the exchange's fills."""

    strategy: str
    day: date
    trades: int
    last_at: datetime | None


def ensure_meta_tables(connection: sqlite3.Connection) -> None:
    """Create the tables if they are missing (idempotent; its own transaction)."""
    connection.executescript(f"BEGIN IMMEDIATE;\n{META_TABLES}\nCOMMIT;")


class StoreMetaMixin:
    """Reads and writes of the meta tables; mixed into `Store`."""

    _connection: sqlite3.Connection

    if TYPE_CHECKING:
        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def now(self) -> datetime: ...

    # -- facts ---------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self._connection.execute("SELECT value FROM store_meta WHERE key = ?",
                                       (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as tx:
            tx.execute("INSERT INTO store_meta (key, value, updated_at) VALUES (?,?,?)"
                       " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                       " updated_at = excluded.updated_at",
                       (key, value, time_text(self.now())))

    # -- external positions --------------------------------------------------------------------
    def external_positions(self) -> dict[str, Decimal]:
        """Signed quantity per symbol the operator declared someone else's."""
        rows = self._connection.execute("SELECT symbol, qty FROM external_positions")
        return {str(symbol): Decimal(qty) for symbol, qty in rows}

    def declare_external(self, symbol: str, qty: Decimal, note: str = "") -> None:
        """Record `qty` (signed) of `symbol` as not the runner's; 0 removes the declaration."""
        with self.transaction() as tx:
            if qty == 0:
                tx.execute("DELETE FROM external_positions WHERE symbol = ?", (symbol,))
                return
            tx.execute("INSERT INTO external_positions (symbol, qty, declared_at, note)"
                       " VALUES (?,?,?,?) ON CONFLICT (symbol) DO UPDATE SET"
                       " qty = excluded.qty, declared_at = excluded.declared_at,"
                       " note = excluded.note", (symbol, str(qty), time_text(self.now()), note))

    # -- daily recounts ------------------------------------------------------------------------
    def save_recounts(self, recounts: list[Recount]) -> None:
        """Store recounted trades per strategy and day (a later recount replaces one)."""
        with self.transaction() as tx:
            for item in recounts:
                tx.execute(
                    "INSERT INTO daily_recounts (day, strategy, trades, last_at, recounted_at)"
                    " VALUES (?,?,?,?,?) ON CONFLICT (day, strategy) DO UPDATE SET"
                    " trades = MAX(trades, excluded.trades), last_at = excluded.last_at,"
                    " recounted_at = excluded.recounted_at",
                    (item.day.isoformat(), item.strategy, item.trades,
                     time_text(item.last_at) if item.last_at else None,
                     time_text(self.now())))

    def recounts_on(self, day: date) -> dict[str, Recount]:
        """The recounted trades of `day`, by strategy."""
        rows = self._connection.execute(
            "SELECT strategy, trades, last_at FROM daily_recounts WHERE day = ?",
            (day.isoformat(),)).fetchall()
        return {str(name): Recount(str(name), day, int(trades),
                                   datetime.fromisoformat(last) if last else None)
                for name, trades, last in rows}
