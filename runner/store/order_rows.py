"""The order ledger, the fills table and the audit log: rows to domain objects and back.

Invariants: a ledger row exists before its request is sent; the exchange's
cumulative fill of an order never goes down in the ledger (a stale read cannot undo
a fill, lessons B7); a FINAL or REJECTED row never becomes live again except when the
exchange itself shows the order (then the exchange is right).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from runner.domain.commands import OrderKey, OrderPurpose, PlaceOrder
from runner.domain.ledger import LedgerOrder, LedgerStatus
from runner.domain.orders import Fill, Order, OrderRequest, OrderStatus, Side, TimeInForce
from runner.store.codec import column_value, dec_value, must_dec, must_time, time_text, time_value

LIVE_STATUSES = tuple(status.value for status in LedgerStatus if status.is_live)


def insert_intent(connection: sqlite3.Connection, command: PlaceOrder, now: datetime) -> None:
    key, request = command.key, command.request
    connection.execute(
        "INSERT INTO orders (client_order_id, trade_id, leg_index, purpose, reason, attempt,"
        " symbol, side, qty, price, reduce_only, post_only, time_in_force, status, created_at,"
        " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (request.client_order_id, key.trade_id, key.leg_index, key.purpose.value, key.reason,
         key.attempt, request.symbol, request.side.value, str(request.qty), str(request.price),
         int(request.reduce_only), int(request.post_only), request.time_in_force.value,
         LedgerStatus.INTENT.value, time_text(now), time_text(now)),
    )


def set_status(connection: sqlite3.Connection, client_order_id: int, status: LedgerStatus,
               now: datetime, **columns: object) -> bool:
    """Set the status and any other columns of one ledger row; False when there is none."""
    assignments = ", ".join(f"{name} = ?" for name in columns)
    extra = f", {assignments}" if assignments else ""
    values = [column_value(value) for value in columns.values()]
    cursor = connection.execute(
        f"UPDATE orders SET status = ?, updated_at = ?{extra}"  # noqa: S608
        " WHERE client_order_id = ?",
        (status.value, time_text(now), *values, client_order_id),
    )
    return cursor.rowcount > 0


def set_sent(connection: sqlite3.Connection, client_order_id: int, now: datetime) -> bool:
    """SENT now, one more send attempt counted; False when the row does not exist."""
    text = time_text(now)
    cursor = connection.execute(
        "UPDATE orders SET status = ?, updated_at = ?, sent_at = ?,"
        " send_attempts = send_attempts + 1 WHERE client_order_id = ?",
        (LedgerStatus.SENT.value, text, text, client_order_id))
    return cursor.rowcount > 0


def exchange_view_change(row: LedgerOrder, order: Order) -> dict[str, object] | None:
    """The columns the exchange's view of one order changes (status included), or None
    when the ledger row already says all of it (a working order seen again unchanged)."""
    filled = max(row.filled_qty, order.filled_qty)
    avg = order.avg_price if order.filled_qty >= row.filled_qty else row.avg_price
    fee = max(row.fee, order.fee)
    if row.status is LedgerStatus.FINAL and not order.status.is_final:
        status, exchange_status = row.status, row.exchange_status  # stale read: keep final
    else:
        status = LedgerStatus.FINAL if order.status.is_final else LedgerStatus.ACCEPTED
        exchange_status = order.status
    changed = (filled != row.filled_qty or fee != row.fee or status is not row.status
               or exchange_status is not row.exchange_status or row.order_id != order.order_id)
    if not changed:
        return None
    return {"status": status, "exchange_order_id": order.order_id,
            "exchange_status": None if exchange_status is None else exchange_status.value,
            "filled_qty": filled, "avg_price": avg, "fee": fee}


def find(connection: sqlite3.Connection, client_order_id: int) -> LedgerOrder | None:
    row = connection.execute("SELECT * FROM orders WHERE client_order_id = ?",
                             (client_order_id,)).fetchone()
    return None if row is None else order_from_row(row)


def select(connection: sqlite3.Connection, where: str = "1",
           params: tuple[object, ...] = ()) -> list[LedgerOrder]:
    rows = connection.execute(
        f"SELECT * FROM orders WHERE {where} ORDER BY created_at, client_order_id",  # noqa: S608
        params).fetchall()
    return [order_from_row(row) for row in rows]


def live_where(trade_id: str | None, purpose: OrderPurpose | None) -> tuple[str, tuple]:
    clauses = [f"status IN ({', '.join('?' for _ in LIVE_STATUSES)})"]
    params: list[object] = list(LIVE_STATUSES)
    if trade_id is not None:
        clauses.append("trade_id = ?")
        params.append(trade_id)
    if purpose is not None:
        clauses.append("purpose = ?")
        params.append(purpose.value)
    return " AND ".join(clauses), tuple(params)


def order_from_row(row: sqlite3.Row) -> LedgerOrder:
    key = OrderKey(row["trade_id"], row["leg_index"], OrderPurpose(row["purpose"]),
                   row["reason"], row["attempt"])
    request = OrderRequest(symbol=row["symbol"], side=Side(row["side"]), qty=must_dec(row["qty"]),
                           price=must_dec(row["price"]),
                           client_order_id=row["client_order_id"],
                           reduce_only=bool(row["reduce_only"]),
                           post_only=bool(row["post_only"]),
                           time_in_force=TimeInForce(row["time_in_force"]))
    exchange_status = row["exchange_status"]
    return LedgerOrder(
        key=key, request=request, status=LedgerStatus(row["status"]),
        created_at=must_time(row["created_at"]), updated_at=must_time(row["updated_at"]),
        sent_at=time_value(row["sent_at"]), send_attempts=row["send_attempts"],
        order_id=row["exchange_order_id"],
        exchange_status=None if exchange_status is None else OrderStatus(exchange_status),
        filled_qty=must_dec(row["filled_qty"]), avg_price=dec_value(row["avg_price"]),
        fee=must_dec(row["fee"]), error_code=row["error_code"],
        error_message=row["error_message"],
        cancel_requested_at=time_value(row["cancel_requested_at"]),
        cancel_reason=row["cancel_reason"],
    )


# -- fills -----------------------------------------------------------------------------------
def insert_fill(connection: sqlite3.Connection, fill: Fill, owner: LedgerOrder | None,
                source: str, fill_id: str | None = None) -> bool:
    """Record one execution once (deduplicated by the exchange trade id, or `fill_id`)."""
    cursor = connection.execute(
        "INSERT OR IGNORE INTO fills (exchange_trade_id, order_id, client_order_id, trade_id,"
        " leg_index, purpose, symbol, side, qty, price, fee, at, source)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (fill_id or str(fill.trade_id), fill.order_id, owner.client_order_id if owner else None,
         owner.trade_id if owner else None, owner.key.leg_index if owner else None,
         owner.key.purpose.value if owner else None, fill.symbol, fill.side.value,
         str(fill.qty), str(fill.price), str(fill.fee), time_text(fill.at), source),
    )
    return cursor.rowcount == 1


def fills_of(connection: sqlite3.Connection, trade_id: str) -> list[Fill]:
    rows = connection.execute("SELECT * FROM fills WHERE trade_id = ? ORDER BY at",
                              (trade_id,)).fetchall()
    return [Fill(trade_id=_numeric_id(r["exchange_trade_id"]), order_id=r["order_id"] or 0,
                 symbol=r["symbol"], side=Side(r["side"]), qty=must_dec(r["qty"]),
                 price=must_dec(r["price"]), fee=must_dec(r["fee"]), at=must_time(r["at"]))
            for r in rows]


def latest_fill_time(connection: sqlite3.Connection) -> datetime | None:
    return time_value(connection.execute("SELECT MAX(at) FROM fills").fetchone()[0])


# -- audit -----------------------------------------------------------------------------------
def append_audit(connection: sqlite3.Connection, now: datetime, action: str, subject: str,
                 outcome: str, detail: dict[str, object] | None = None) -> None:
    connection.execute(
        "INSERT INTO audit (at, action, subject, outcome, detail) VALUES (?,?,?,?,?)",
        (time_text(now), action, subject, outcome,
         json.dumps(detail or {}, default=str, sort_keys=True)),
    )


def _numeric_id(text: str) -> int:
    """Exchange trade ids are integers; block-trade legs without one get `<block>:<n>`."""
    return int(text) if text.isdigit() else 0
