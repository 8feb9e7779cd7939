"""The runner's durable memory: one SQLite file in the state directory.

Owns trades (with legs and append-only transitions), the order and RFQ ledgers, fills,
the audit log and the strategies seen. Daily counters and cooldowns are *queries* over
the trades table, so a restart can never reset them (lessons A1, I3).

Invariants and deliberate choices:
- One transaction per change (`transaction()`); a crash at any point leaves either the
  whole change or none of it. Nested `transaction()` blocks join the outer one.
- WAL journal with `synchronous=FULL`: a commit is on disk before the call returns.
  NORMAL would be crash-safe for the file but may lose the last commits on power loss;
  an intent that vanished after its order went out is exactly the orphan we must
  never create (lessons D3), and orders are few, so the extra fsync is cheap.
- One writer: the service loop thread that opened the store. sqlite3's
  `check_same_thread` enforces it; another process (`runner status`) opens its own
  connection and only reads (WAL lets it read while we write).
- The file never lives under `logs/` (lessons A9): `Store.open` refuses such a path.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from runner.domain.clock import Clock
from runner.domain.commands import OrderPurpose, PlaceOrder
from runner.domain.ledger import LedgerOrder, LedgerStatus
from runner.domain.orders import Fill, Order
from runner.domain.trades import Trade, TradeStage
from runner.store import order_rows, schema, trade_rows
from runner.store.codec import time_text
from runner.store.copy_store import StrategyCopiesMixin
from runner.store.file_watch import FileIdentity, StoreFileMixin
from runner.store.memo import ChangeMemo
from runner.store.meta import StoreMetaMixin, ensure_meta_tables
from runner.store.rfq_store import RfqLedgerMixin

DEFAULT_STATE_DIR: Final = Path("state")
STORE_FILE_NAME: Final = "runner.sqlite3"
CORRUPTION_ERRORS: Final = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB",
                                      "SQLITE_IOERR_SHORT_READ", "SQLITE_CORRUPT_INDEX"})


class StoreUnreadable(RuntimeError):
    """The store file is damaged or not a runner store: quarantine it and start fresh."""


class StoreLocationRefused(ValueError):
    """The store was asked to live somewhere state must never live (e.g. under logs/)."""


def default_store_path(state_dir: Path = DEFAULT_STATE_DIR) -> Path:
    return state_dir / STORE_FILE_NAME


class Store(RfqLedgerMixin, StrategyCopiesMixin, StoreMetaMixin, StoreFileMixin):
    """Trades, ledgers, fills and the audit log, one committed transaction per change."""

    def __init__(self, connection: sqlite3.Connection, path: Path, clock: Clock) -> None:
        self._connection = connection
        self._depth = 0
        self.path = path
        self.clock = clock
        self._identity: FileIdentity | None = None
        self._memo = ChangeMemo()  # the poll's ledger reads (memo.py)
        self.remember_file()

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, clock: Clock) -> Store:
        """Open (creating and migrating) the store; raise StoreUnreadable when damaged."""
        if "logs" in path.resolve().parts[:-1]:
            raise StoreLocationRefused(f"{path}: state must not live under logs/ (lessons A9)")
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        try:
            _configure(connection)
            _check_integrity(connection)
            schema.migrate(connection)
            missing = schema.missing_tables(connection)
            if missing:
                raise StoreUnreadable(f"{path}: tables missing: {', '.join(sorted(missing))}")
            ensure_meta_tables(connection)
        except sqlite3.DatabaseError as exc:
            connection.close()
            if _is_corruption(exc):
                raise StoreUnreadable(f"{path}: {exc}") from exc
            raise
        except BaseException:
            connection.close()
            raise
        connection.row_factory = sqlite3.Row
        return cls(connection, path, clock)

    def close(self) -> None:
        self._connection.close()

    def relax_durability(self) -> None:
        """Stop waiting for every commit to reach the disk. Only for a throw-away store
        (an accelerated simulation in a scratch directory): a crash there loses nothing
        anyone keeps, and a sync per commit would cost more than the whole simulation."""
        self._connection.execute("PRAGMA synchronous = OFF")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic change: commit on success, roll back on any exception."""
        if self._depth:
            self._depth += 1
            try:
                yield self._connection
            finally:
                self._depth -= 1
            return
        self._connection.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self._connection
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        else:
            self._connection.execute("COMMIT")
        finally:
            self._depth = 0

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for read-only queries by tests and diagnostics."""
        return self._connection

    def now(self) -> datetime:
        return self.clock.now()

    # -- strategies --------------------------------------------------------------------------
    def note_strategy(self, name: str, spec_hash: str | None = None) -> None:
        """Remember that a strategy was loaded now (first and last seen, spec hash)."""
        now = time_text(self.now())
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO strategies (name, first_seen, last_seen, spec_hash)"
                " VALUES (?,?,?,?) ON CONFLICT (name) DO UPDATE SET"
                " last_seen = excluded.last_seen, spec_hash = excluded.spec_hash",
                (name, now, now, spec_hash))

    def strategies_seen(self) -> list[tuple[str, datetime, datetime, str | None]]:
        rows = self._connection.execute("SELECT * FROM strategies ORDER BY name").fetchall()
        return [(r["name"], datetime.fromisoformat(r["first_seen"]),
                 datetime.fromisoformat(r["last_seen"]), r["spec_hash"]) for r in rows]

    # -- trades ------------------------------------------------------------------------------
    def save_trade(self, trade: Trade) -> None:
        """Upsert the trade and its legs and append its new transitions, atomically."""
        with self.transaction() as tx:
            trade_rows.save_trade(tx, trade, self.now())

    def save_trade_and_execution(self, trade: Trade, state: dict[str, Any] | None) -> None:
        """Save a trade together with its executor state (None: no execution in flight)."""
        with self.transaction() as tx:
            trade_rows.save_trade(tx, trade, self.now())
            if state is None:
                tx.execute("DELETE FROM executions WHERE trade_id = ?", (trade.trade_id,))
            else:
                tx.execute(
                    "INSERT INTO executions (trade_id, state, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (trade_id) DO UPDATE SET state = excluded.state,"
                    " updated_at = excluded.updated_at",
                    (trade.trade_id, json.dumps(state, sort_keys=True),
                     time_text(self.now())))

    def load_executions(self) -> dict[str, dict[str, Any]]:
        """The saved executor state of every trade that has one, by trade id."""
        rows = self._connection.execute("SELECT trade_id, state FROM executions").fetchall()
        return {row[0]: json.loads(row[1]) for row in rows}

    def load_trade(self, trade_id: str) -> Trade | None:
        return trade_rows.load_trade(self._connection, trade_id)

    def trade_stage(self, trade_id: str) -> TradeStage | None:
        """The stored stage of a trade; None when the trade was never saved."""
        row = self._connection.execute("SELECT stage FROM trades WHERE trade_id = ?",
                                       (trade_id,)).fetchone()
        return None if row is None else TradeStage(row[0])

    def load_active_trades(self, strategy: str | None = None) -> list[Trade]:
        """Every trade not yet CLOSED or FAILED, oldest first."""
        where, params = trade_rows.active_where(), trade_rows.active_params()
        if strategy is not None:
            return trade_rows.load_trades_where(self._connection, f"{where} AND strategy = ?",
                                                (*params, strategy))
        return trade_rows.load_trades_where(self._connection, where, params)

    def load_trades(self, strategy: str | None = None,
                    since: datetime | None = None) -> list[Trade]:
        """Trades created at or after `since` (all when None), of one strategy or all."""
        clauses, params = ["created_at >= ?"], [time_text(since) if since else ""]
        if strategy is not None:
            clauses.append("strategy = ?")
            params.append(strategy)
        return trade_rows.load_trades_where(self._connection, " AND ".join(clauses),
                                            tuple(params))

    def trades_created_on(self, strategy: str, day: date) -> int:
        """Trades created on this UTC day that count against the daily limit (not FAILED)."""
        return trade_rows.count_created(self._connection, strategy, day, include_failed=False)

    def attempts_on(self, strategy: str, day: date) -> int:
        """Every trade created on this UTC day, including those that FAILED (lessons I3)."""
        return trade_rows.count_created(self._connection, strategy, day, include_failed=True)

    def last_trade_created_at(self, strategy: str) -> datetime | None:
        """When this strategy last created a trade (for its cooldown), failed ones included."""
        return trade_rows.last_created_at(self._connection, strategy)

    def held_quantity(self) -> Decimal:
        """Total quantity still held by active trades, summed over legs."""
        return trade_rows.held_quantity(self._connection)

    # -- order ledger ------------------------------------------------------------------------
    def record_intent(self, command: PlaceOrder) -> LedgerOrder:
        """Write the order's intent (once); the same client order id returns the first row."""
        with self.transaction() as tx:
            existing = order_rows.find(tx, command.request.client_order_id)
            if existing is not None:
                return existing
            order_rows.insert_intent(tx, command, self.now())
        return self._must_find(command.request.client_order_id)

    # The marks write one row and read nothing back (their callers never need the row).
    def mark_sent(self, client_order_id: int) -> None:
        """The request is about to go out: count the attempt (committed before the call)."""
        with self.transaction() as tx:
            _must_exist(order_rows.set_sent(tx, client_order_id, self.now()), client_order_id)

    def mark_accepted(self, client_order_id: int, order_id: int) -> None:
        self._set(client_order_id, LedgerStatus.ACCEPTED, exchange_order_id=order_id,
                  error_code=None, error_message=None)

    def mark_unknown(self, client_order_id: int, message: str) -> None:
        self._set(client_order_id, LedgerStatus.UNKNOWN, error_message=message)

    def mark_rejected(self, client_order_id: int, code: int | None, message: str) -> None:
        self._set(client_order_id, LedgerStatus.REJECTED, error_code=code,
                  error_message=message)

    def mark_unsent(self, client_order_id: int, message: str) -> None:
        """The request provably did not reach the exchange: back to INTENT for a resend."""
        self._set(client_order_id, LedgerStatus.INTENT, error_message=message)

    def mark_cancel_requested(self, client_order_id: int, reason: str) -> None:
        """Remember that the runner wants this order gone (reconciliation honours it)."""
        row = self._must_find(client_order_id)
        self._set(client_order_id, row.status, cancel_requested_at=self.now(),
                  cancel_reason=reason)

    def update_from_exchange(self, order: Order, *, current: LedgerOrder | None = None,
                             ) -> tuple[LedgerOrder, bool] | None:
        """Record the exchange's view of one of our orders; None when it is not ours.

        A view the ledger already holds (a working order seen again) writes nothing and
        reads the row once: this runs for every working order on every tick. `current` is
        the order's row as the caller has just read it (the poll's live orders): then it
        is not read again."""
        row = current if current is not None else self._row_for(order)
        if row is None:
            return None
        columns = order_rows.exchange_view_change(row, order)
        if columns is None:
            return row, False
        with self.transaction() as tx:
            order_rows.set_status(tx, row.client_order_id, now=self.now(), **columns)
        return self._must_find(row.client_order_id), True

    def _row_for(self, order: Order) -> LedgerOrder | None:
        if order.client_order_id is not None:
            found = self.find_by_client_order_id(order.client_order_id)
            if found is not None:
                return found
        return self.find_by_order_id(order.order_id)

    def find_by_client_order_id(self, client_order_id: int) -> LedgerOrder | None:
        return order_rows.find(self._connection, client_order_id)

    def find_by_order_id(self, order_id: int) -> LedgerOrder | None:
        found = order_rows.select(self._connection, "exchange_order_id = ?", (order_id,))
        return found[0] if found else None

    def live_orders(self, trade_id: str | None = None,
                    purpose: OrderPurpose | None = None) -> list[LedgerOrder]:
        """Orders that are, or may become, working: INTENT, SENT, ACCEPTED, UNKNOWN (all
        of them read once until this connection next changes a row: memo.py)."""
        where, params = order_rows.live_where(trade_id, purpose)
        if trade_id is None and purpose is None:
            return self._memo.rows(self._connection, "live_orders", lambda: order_rows.select(
                self._connection, where, params))
        return order_rows.select(self._connection, where, params)

    def unsent_intents(self) -> list[LedgerOrder]:
        """Orders written as intents and not yet known to be sent (status INTENT)."""
        return order_rows.select(self._connection, "status = ?", (LedgerStatus.INTENT.value,))

    def orders_for_trade(self, trade_id: str) -> list[LedgerOrder]:
        return order_rows.select(self._connection, "trade_id = ?", (trade_id,))

    def order_reasons(self, trade_id: str) -> list[str]:
        """The reason of each order of a trade (what the per-trade cap counts, B2), without
        reading whole rows: checked before every order placed."""
        rows = self._connection.execute("SELECT reason FROM orders WHERE trade_id = ?",
                                        (trade_id,))
        return [row[0] for row in rows]

    def all_orders(self) -> list[LedgerOrder]:
        return order_rows.select(self._connection)

    def _set(self, client_order_id: int, status: LedgerStatus, **columns: object) -> None:
        with self.transaction() as tx:
            _must_exist(order_rows.set_status(tx, client_order_id, status, self.now(),
                                              **columns), client_order_id)

    def _must_find(self, client_order_id: int) -> LedgerOrder:
        row = order_rows.find(self._connection, client_order_id)
        if row is None:
            raise KeyError(f"client order id {client_order_id} is not in the ledger")
        return row

    # -- fills and audit ---------------------------------------------------------------------
    def record_fill(self, fill: Fill, source: str = "order") -> bool:
        """Record one execution once; returns False for a fill already recorded."""
        with self.transaction() as tx:
            owner = self.find_by_order_id(fill.order_id)
            return order_rows.insert_fill(tx, fill, owner, source)

    def fills_for_trade(self, trade_id: str) -> list[Fill]:
        return order_rows.fills_of(self._connection, trade_id)

    def latest_fill_time(self) -> datetime | None:
        return order_rows.latest_fill_time(self._connection)

    def audit(self, action: str, subject: str, outcome: str, **detail: object) -> None:
        """Append one line to the audit log of exchange actions and their outcomes."""
        with self.transaction() as tx:
            order_rows.append_audit(tx, self.now(), action, subject, outcome, detail)

    def audit_log(self, limit: int = 1000) -> list[tuple[datetime, str, str, str, str]]:
        rows = self._connection.execute(
            "SELECT at, action, subject, outcome, detail FROM audit ORDER BY seq DESC LIMIT ?",
            (limit,)).fetchall()
        return [(datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4]) for r in reversed(rows)]


def _must_exist(found: bool, client_order_id: int) -> None:
    if not found:  # raised inside the change's transaction: it is rolled back
        raise KeyError(f"client order id {client_order_id} is not in the ledger")


def _configure(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA busy_timeout = 5000")
    mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(f"could not switch the store to WAL (got {mode})")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = ON")


def _check_integrity(connection: sqlite3.Connection) -> None:
    result = connection.execute("PRAGMA quick_check").fetchall()
    if [tuple(row) for row in result] != [("ok",)]:
        detail = "; ".join(str(row[0]) for row in result[:3])
        raise StoreUnreadable(f"integrity check failed: {detail}")


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name in CORRUPTION_ERRORS:
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text
