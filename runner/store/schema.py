"""The store's tables, versioned with `PRAGMA user_version` and migrated forward only.

Invariant: `MIGRATIONS[n]` takes a database at version n to version n + 1 inside one
transaction, so a crash during a migration leaves the previous version intact. A
database newer than this code is refused, never downgraded (that would lose memory).

Times are ISO 8601 UTC text with microseconds (sortable as text, readable with the
sqlite3 shell); prices, quantities and money are Decimal text. Transitions and the
audit log are append-only, enforced by triggers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Final

from runner.store import copy_store


class StoreTooNew(RuntimeError):
    """The database was written by a newer runner; refuse rather than lose data."""


_V1: Final = """
CREATE TABLE strategies (
    name TEXT PRIMARY KEY,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    spec_hash TEXT
);
CREATE TABLE trades (
    trade_id TEXT PRIMARY KEY,
    strategy TEXT NOT NULL,
    stage TEXT NOT NULL,
    created_at TEXT NOT NULL,
    opened_at TEXT,
    closed_at TEXT,
    exit_reason TEXT,
    cycle INTEGER,
    index_at_entry TEXT,
    execution TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
);
CREATE INDEX trades_by_strategy ON trades (strategy, created_at);
CREATE INDEX trades_by_stage ON trades (stage);
CREATE TABLE trade_legs (
    trade_id TEXT NOT NULL REFERENCES trades (trade_id),
    leg_index INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    qty TEXT NOT NULL,
    filled_qty TEXT NOT NULL,
    entry_price TEXT,
    closed_qty TEXT NOT NULL,
    exit_price TEXT,
    fees TEXT NOT NULL,
    delta_at_entry REAL,
    PRIMARY KEY (trade_id, leg_index)
);
CREATE TABLE transitions (
    trade_id TEXT NOT NULL REFERENCES trades (trade_id),
    seq INTEGER NOT NULL,
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (trade_id, seq)
);
CREATE TRIGGER transitions_no_update BEFORE UPDATE ON transitions
BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;
CREATE TRIGGER transitions_no_delete BEFORE DELETE ON transitions
BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;
CREATE TABLE orders (
    client_order_id INTEGER PRIMARY KEY,
    trade_id TEXT NOT NULL REFERENCES trades (trade_id),
    leg_index INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    qty TEXT NOT NULL,
    price TEXT NOT NULL,
    reduce_only INTEGER NOT NULL,
    post_only INTEGER NOT NULL,
    time_in_force TEXT NOT NULL,
    status TEXT NOT NULL,
    send_attempts INTEGER NOT NULL DEFAULT 0,
    exchange_order_id INTEGER,
    exchange_status TEXT,
    filled_qty TEXT NOT NULL DEFAULT '0',
    avg_price TEXT,
    fee TEXT NOT NULL DEFAULT '0',
    error_code INTEGER,
    error_message TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    updated_at TEXT NOT NULL,
    cancel_requested_at TEXT,
    cancel_reason TEXT
);
CREATE INDEX orders_by_trade ON orders (trade_id, purpose);
CREATE INDEX orders_by_status ON orders (status);
CREATE INDEX orders_by_exchange_id ON orders (exchange_order_id);
CREATE TABLE rfqs (
    rfq_key TEXT PRIMARY KEY,
    trade_id TEXT NOT NULL REFERENCES trades (trade_id),
    purpose TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    legs TEXT NOT NULL,
    state TEXT NOT NULL,
    request_id TEXT UNIQUE,
    expires_at TEXT,
    accept_quote_id TEXT,
    expected_cost TEXT,
    accept_requested_at TEXT,
    block_trade TEXT,
    error_code INTEGER,
    error_message TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX rfqs_by_state ON rfqs (state);
CREATE TABLE fills (
    exchange_trade_id TEXT PRIMARY KEY,
    order_id INTEGER,
    client_order_id INTEGER,
    trade_id TEXT,
    leg_index INTEGER,
    purpose TEXT,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    qty TEXT NOT NULL,
    price TEXT NOT NULL,
    fee TEXT NOT NULL,
    at TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX fills_by_trade ON fills (trade_id, leg_index);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

# Version 2: the executor state of every trade in flight, saved with the trade in one
# transaction so that a restart resumes the execution exactly where it was.
_V2: Final = """
CREATE TABLE executions (
    trade_id TEXT PRIMARY KEY REFERENCES trades (trade_id),
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

# Version 4: why a FAILED trade failed, in a trader's words (issue 12 item 3). A trade
# that failed before this version takes the reason of its move to FAILED.
# Like the other steps it may meet a database that has it already (a version number set
# back by hand): the column is then kept, only the backfill runs.
_V4_BACKFILL: Final = """
UPDATE trades SET failure_reason = (
    SELECT reason FROM transitions WHERE transitions.trade_id = trades.trade_id
    AND transitions.to_stage = 'failed' ORDER BY seq DESC LIMIT 1)
WHERE stage = 'failed' AND failure_reason IS NULL;
"""


def _v4(connection: sqlite3.Connection) -> str:
    columns = {row[1] for row in connection.execute("PRAGMA table_info(trades)")}
    add = "" if "failure_reason" in columns else \
        "ALTER TABLE trades ADD COLUMN failure_reason TEXT;\n"
    return add + _V4_BACKFILL


# Version 3: the strategy copy each trade opened with (copy_store.py). A step is its SQL,
# or a function of the database that returns it.
Migration = str | Callable[[sqlite3.Connection], str]
MIGRATIONS: Final[tuple[Migration, ...]] = (_V1, _V2, copy_store.MIGRATION, _v4)
CURRENT_VERSION: Final = len(MIGRATIONS)
EXPECTED_TABLES: Final = frozenset({"strategies", "trades", "trade_legs", "transitions",
                                    "orders", "rfqs", "fills", "audit", "executions",
                                    *copy_store.TABLES})


def schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(connection: sqlite3.Connection) -> int:
    """Bring the database to `CURRENT_VERSION`, one transaction per step; return the start."""
    start = schema_version(connection)
    if start > CURRENT_VERSION:
        raise StoreTooNew(f"the store is at schema version {start}, this runner knows up to"
                          f" {CURRENT_VERSION}: upgrade the runner, do not delete the store")
    for version in range(start, CURRENT_VERSION):
        # executescript commits any open transaction first; the script is its own unit.
        step = MIGRATIONS[version]
        script = step(connection) if callable(step) else step
        try:
            connection.executescript(
                f"BEGIN IMMEDIATE;\n{script}\n"
                f"PRAGMA user_version = {version + 1};\nCOMMIT;"
            )
        except sqlite3.Error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    return start


def missing_tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return set(EXPECTED_TABLES) - {row[0] for row in rows}
