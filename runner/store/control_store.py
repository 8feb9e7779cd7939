"""Control requests: what the operator asked the service to do, written beside the trades.

`runner pause|resume|flatten|close` never touch trade state (the service is the one
writer of trades); they only append a row to `control_requests`. The service reads the
pending rows at the start of every tick (and at its first tick after a start, so a
request made while it was stopped is applied then), carries each out, and marks it
`applied` or `refused` with the time and the outcome in words.

`control_pauses` is the service's record of the strategies paused now ("*" means every
strategy): a pause survives restarts until a resume ends it.

Deliberate choices:
- The tables are created with `CREATE TABLE IF NOT EXISTS` by whichever side comes
  first (the commands or the service), like the meta tables: additive, no migration.
- A command writes through its own short-lived connection with a short busy timeout;
  WAL lets it write between the service's transactions.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from runner.store.codec import time_text

CONTROL_TABLES: Final = """
CREATE TABLE IF NOT EXISTS control_requests (
    request_id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    targets TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    applied_at TEXT,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS control_pauses (
    strategy TEXT PRIMARY KEY,
    paused_at TEXT NOT NULL,
    request_id INTEGER
);
"""

ACTIONS: Final = ("pause", "resume", "flatten", "close")
PENDING: Final = "pending"
APPLIED: Final = "applied"
REFUSED: Final = "refused"
EVERY_STRATEGY: Final = "*"


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """One operator request; `targets` are strategy names (pause, resume, flatten) or one
    trade id (close); empty means every strategy."""

    request_id: int
    action: str
    targets: tuple[str, ...]
    requested_at: datetime
    requested_by: str
    status: str = PENDING
    applied_at: datetime | None = None
    outcome: str | None = None

    def describe(self) -> str:
        what = ", ".join(self.targets) if self.targets else "every strategy"
        return f"request {self.request_id}: {self.action} {what}"

    def as_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "action": self.action,
                "targets": list(self.targets), "requested_at": self.requested_at.isoformat(),
                "requested_by": self.requested_by, "status": self.status,
                "applied_at": self.applied_at.isoformat() if self.applied_at else None,
                "outcome": self.outcome}


def ensure_control_tables(connection: sqlite3.Connection) -> None:
    """Create the tables if they are missing (idempotent; its own transaction)."""
    connection.executescript(f"BEGIN IMMEDIATE;\n{CONTROL_TABLES}\nCOMMIT;")


def submit(connection: sqlite3.Connection, action: str, targets: tuple[str, ...],
           now: datetime, requested_by: str) -> int:
    """Append a pending request; its id. The connection must be in autocommit mode."""
    if action not in ACTIONS:
        raise ValueError(f"unknown control action {action!r}; expected one of {ACTIONS}")
    cursor = connection.execute(
        "INSERT INTO control_requests (action, targets, requested_at, requested_by)"
        " VALUES (?,?,?,?)", (action, json.dumps(list(targets)), time_text(now), requested_by))
    return int(cursor.lastrowid or 0)


def _request(row: sqlite3.Row | tuple[Any, ...]) -> ControlRequest:
    (request_id, action, targets, requested_at, by, status, applied_at, outcome) = tuple(row)
    return ControlRequest(int(request_id), str(action), tuple(json.loads(targets)),
                          datetime.fromisoformat(requested_at), str(by), str(status),
                          datetime.fromisoformat(applied_at) if applied_at else None,
                          None if outcome is None else str(outcome))


_COLUMNS: Final = ("request_id, action, targets, requested_at, requested_by, status,"
                   " applied_at, outcome")


def pending_requests(connection: sqlite3.Connection) -> list[ControlRequest]:
    """The requests not yet carried out, oldest first."""
    rows = connection.execute(f"SELECT {_COLUMNS} FROM control_requests"  # noqa: S608
                              " WHERE status = ? ORDER BY request_id", (PENDING,))
    return [_request(row) for row in rows]


def recent_requests(connection: sqlite3.Connection, limit: int = 10) -> list[ControlRequest]:
    """The newest requests, newest first."""
    rows = connection.execute(f"SELECT {_COLUMNS} FROM control_requests"  # noqa: S608
                              " ORDER BY request_id DESC LIMIT ?", (limit,))
    return [_request(row) for row in rows]


def mark_done(connection: sqlite3.Connection, request_id: int, status: str, at: datetime,
              outcome: str) -> None:
    connection.execute("UPDATE control_requests SET status = ?, applied_at = ?, outcome = ?"
                       " WHERE request_id = ?", (status, time_text(at), outcome, request_id))


def paused(connection: sqlite3.Connection) -> dict[str, datetime]:
    """Paused strategy -> since when ("*": every strategy)."""
    rows = connection.execute("SELECT strategy, paused_at FROM control_pauses")
    return {str(name): datetime.fromisoformat(at) for name, at in rows}


def set_paused(connection: sqlite3.Connection, strategy: str, at: datetime,
               request_id: int | None) -> None:
    connection.execute("INSERT INTO control_pauses (strategy, paused_at, request_id)"
                       " VALUES (?,?,?) ON CONFLICT (strategy) DO NOTHING",
                       (strategy, time_text(at), request_id))


def clear_paused(connection: sqlite3.Connection, strategy: str | None = None) -> None:
    """End the pause of one strategy (None: every pause)."""
    if strategy is None:
        connection.execute("DELETE FROM control_pauses")
    else:
        connection.execute("DELETE FROM control_pauses WHERE strategy = ?", (strategy,))


def read_control(connection: sqlite3.Connection, limit: int = 10) -> dict[str, Any]:
    """For `runner status`: pauses and the newest requests (a store from before these
    tables existed has none)."""
    try:
        pauses = paused(connection)
        requests = recent_requests(connection, limit)
    except sqlite3.OperationalError:
        return {"paused": [], "requests": []}
    return {"paused": [{"strategy": name, "since": at.isoformat()}
                       for name, at in sorted(pauses.items())],
            "requests": [request.as_dict() for request in requests]}


def open_for_request(path: Path, busy_timeout: float = 2.0) -> sqlite3.Connection:
    """A short-lived autocommit connection to an existing store, for a control command:
    never creates the file; waits at most `busy_timeout` s for the service's writes."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True,
                                 timeout=busy_timeout, isolation_level=None)
    try:
        ensure_control_tables(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def request_status(connection: sqlite3.Connection, request_id: int) -> ControlRequest | None:
    row = connection.execute(f"SELECT {_COLUMNS} FROM control_requests"  # noqa: S608
                             " WHERE request_id = ?", (request_id,)).fetchone()
    return None if row is None else _request(row)
