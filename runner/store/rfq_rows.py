"""The RFQ ledger: one row per (trade, purpose, attempt), written before the create.

The exchange's request id is only known after the create answers, so the row is keyed
by `rfq_key` and the request id is filled in later (unique when present). An accept
writes the chosen quote before it is sent; a row in ACCEPTING or ACCEPT_UNKNOWN is
never accepted again, only resolved by looking up block trades (coincall-api.md
section 10, pitfall 8).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from runner.domain.commands import CreateRfq, OrderPurpose
from runner.domain.ledger import RfqLedgerState, RfqRecord, rfq_key
from runner.store.codec import (
    block_trade_text,
    block_trade_value,
    column_value,
    dec_value,
    must_time,
    rfq_legs_text,
    rfq_legs_value,
    time_text,
    time_value,
)

ACTIVE_STATES = tuple(state.value for state in RfqLedgerState if not state.is_final)


def insert_intent(connection: sqlite3.Connection, command: CreateRfq, now: datetime) -> str:
    key = rfq_key(command.trade_id, command.purpose, command.attempt)
    connection.execute(
        "INSERT OR IGNORE INTO rfqs (rfq_key, trade_id, purpose, attempt, legs, state,"
        " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
        (key, command.trade_id, command.purpose.value, command.attempt,
         rfq_legs_text(command.legs), RfqLedgerState.INTENT.value, time_text(now),
         time_text(now)),
    )
    return key


def update(connection: sqlite3.Connection, key: str, state: RfqLedgerState, now: datetime,
           **columns: object) -> None:
    """Set the state and any other columns of one RFQ row."""
    if "block_trade" in columns:
        columns["block_trade"] = block_trade_text(columns["block_trade"])  # type: ignore[arg-type]
    assignments = "".join(f", {name} = ?" for name in columns)
    connection.execute(
        f"UPDATE rfqs SET state = ?, updated_at = ?{assignments} WHERE rfq_key = ?",  # noqa: S608
        (state.value, time_text(now), *(column_value(v) for v in columns.values()), key),
    )


def find_by_key(connection: sqlite3.Connection, key: str) -> RfqRecord | None:
    row = connection.execute("SELECT * FROM rfqs WHERE rfq_key = ?", (key,)).fetchone()
    return None if row is None else record_from_row(row)


def find_by_request_id(connection: sqlite3.Connection, request_id: str) -> RfqRecord | None:
    row = connection.execute("SELECT * FROM rfqs WHERE request_id = ?",
                             (request_id,)).fetchone()
    return None if row is None else record_from_row(row)


def select(connection: sqlite3.Connection, where: str = "1",
           params: tuple[object, ...] = ()) -> list[RfqRecord]:
    rows = connection.execute(
        f"SELECT * FROM rfqs WHERE {where} ORDER BY created_at, rfq_key",  # noqa: S608
        params).fetchall()
    return [record_from_row(row) for row in rows]


def active_where(trade_id: str | None) -> tuple[str, tuple[object, ...]]:
    where = f"state IN ({', '.join('?' for _ in ACTIVE_STATES)})"
    if trade_id is None:
        return where, ACTIVE_STATES
    return f"{where} AND trade_id = ?", (*ACTIVE_STATES, trade_id)


def record_from_row(row: sqlite3.Row) -> RfqRecord:
    return RfqRecord(
        rfq_key=row["rfq_key"], trade_id=row["trade_id"], purpose=OrderPurpose(row["purpose"]),
        attempt=row["attempt"], legs=rfq_legs_value(row["legs"]),
        state=RfqLedgerState(row["state"]), created_at=must_time(row["created_at"]),
        updated_at=must_time(row["updated_at"]), request_id=row["request_id"],
        expires_at=time_value(row["expires_at"]), accept_quote_id=row["accept_quote_id"],
        expected_cost=dec_value(row["expected_cost"]),
        accept_requested_at=time_value(row["accept_requested_at"]),
        block_trade=block_trade_value(row["block_trade"]), error_code=row["error_code"],
        error_message=row["error_message"],
    )
