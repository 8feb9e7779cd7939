"""`runner status`: what the store says, read without ever writing to it.

Owns the read-only view of the state directory: strategies seen, active trades and their
legs, recent closed trades with realised PnL gross and net of fees (lessons E6), today's
trade and attempt counts (lessons I3), live orders in the ledger, the heartbeat's age
(lessons H1) and, given the strategy files, the next entry window of each schedule.

Invariants:
- The store is opened through a separate SQLite connection in read-only URI mode
  (`file:...?mode=ro`): the running service is the one writer, and `status` can never
  create, migrate or change the store. A missing file is reported, never created.
- Every problem (no store, not a database, a newer schema, missing tables) is a
  `StatusUnavailable` with a sentence a person can act on, never a traceback.
- The report is a JSON-safe dict (Decimals as text, times as ISO 8601 UTC); the text
  rendering and `--format json` show the same data.

Deliberate choice: cycle schedules are counted from the last start the store recorded
(`strategies.last_seen`, written when the service assembles), the launch time the running
service uses; daily schedules need no launch time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from runner.domain.ledger import LedgerOrder
from runner.domain.trades import Trade, TradeStage
from runner.store import order_rows, schema, trade_rows
from runner.store.control_store import read_control
from runner.store.meta import TRUTH_KEY
from runner.store.store import default_store_path
from runner.strategy.model import CycleSchedule, StrategySpec

HEARTBEAT_FILE: Final = "heartbeat.json"
DEFAULT_RECENT: Final = 10
_TERMINAL: Final = tuple(stage.value for stage in TradeStage if stage.is_terminal)


class StatusUnavailable(Exception):
    """The store cannot be read; the message says why and what to do."""


@contextmanager
def read_only_store(state_dir: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the store in `state_dir`; raise StatusUnavailable."""
    path = default_store_path(state_dir)
    if not path.is_file():
        raise StatusUnavailable(
            f"no store at {path}: the service has not run with this state directory "
            "(set --state-dir or RUNNER_STATE_DIR to the service's state directory)")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=5.0)
    except sqlite3.Error as error:
        raise StatusUnavailable(f"cannot open the store {path}: {error}") from None
    try:
        connection.row_factory = sqlite3.Row
        _check_schema(connection, path)
        yield connection
    except sqlite3.Error as error:
        raise StatusUnavailable(f"cannot read the store {path}: {error}") from None
    finally:
        connection.close()


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    version = schema.schema_version(connection)
    if version > schema.CURRENT_VERSION:
        raise StatusUnavailable(f"the store {path} was written by a newer runner (schema "
                                f"{version}); upgrade this runner to read it")
    missing = schema.missing_tables(connection)
    if missing:
        raise StatusUnavailable(f"the store {path} is not a runner store (tables missing: "
                                f"{', '.join(sorted(missing))})")


def strategy_trades(state_dir: Path, strategy: str) -> list[Trade] | None:
    """Every trade of one strategy, read-only; None when there is no readable store."""
    try:
        with read_only_store(state_dir) as connection:
            return trade_rows.load_trades_where(connection, "strategy = ?", (strategy,))
    except StatusUnavailable:
        return None


def read_status(state_dir: Path, now: datetime, *, specs: Sequence[StrategySpec] = (),
                recent: int = DEFAULT_RECENT) -> dict[str, Any]:
    """Everything `runner status` shows, as a JSON-safe dict; raise StatusUnavailable."""
    with read_only_store(state_dir) as connection:
        seen = connection.execute("SELECT * FROM strategies ORDER BY name").fetchall()
        active = trade_rows.load_trades_where(connection, trade_rows.active_where(),
                                              trade_rows.active_params())
        closed = _recent_closed(connection, recent)
        live = order_rows.select(connection, *order_rows.live_where(None, None))
        names = sorted({row["name"] for row in seen} | _traded_names(connection))
        today = [_counts(connection, name, now) for name in names]
        starts = {row["name"]: datetime.fromisoformat(row["last_seen"]) for row in seen}
        store_check = _store_check(connection)
        control = read_control(connection)  # runner pause/resume/flatten/close
        schedules = [_next_window(spec, _cycle_launch(connection, spec, starts, now), now)
                     for spec in specs]
    return {
        "at": now.isoformat(),
        "store": str(default_store_path(state_dir)),
        "strategies": [{"name": row["name"], "first_seen": _iso(row["first_seen"]),
                        "last_seen": _iso(row["last_seen"])} for row in seen],
        "today": today,
        "active_trades": [_active(trade, now) for trade in active],
        "recent_closed": [_closed(trade) for trade in closed],
        "live_orders": [_order(order) for order in live],
        "heartbeat": read_heartbeat(state_dir / HEARTBEAT_FILE, now),
        "schedules": schedules,
        "store_check": store_check,
        "control": control,
    }


def _store_check(connection: sqlite3.Connection) -> str | None:
    """The service's last verdict on the store against the exchange (None: all explained,
    or never checked): "DECISION NEEDED ..." with the commands that explain it."""
    try:
        row = connection.execute("SELECT value FROM store_meta WHERE key = ?",
                                 (TRUTH_KEY,)).fetchone()
    except sqlite3.OperationalError:  # a store written before the table existed
        return None
    return str(row[0]) if row is not None and row[0] else None


def _iso(text: str) -> str:
    return datetime.fromisoformat(text).isoformat()


def _traded_names(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT DISTINCT strategy FROM trades")}


def _recent_closed(connection: sqlite3.Connection, limit: int) -> list[Trade]:
    marks = ", ".join("?" for _ in _TERMINAL)  # placeholders only: no value in the text
    where = (f"trade_id IN (SELECT trade_id FROM trades WHERE stage IN ({marks})"  # noqa: S608
             " ORDER BY closed_at DESC, trade_id DESC LIMIT ?)")
    trades = trade_rows.load_trades_where(connection, where, (*_TERMINAL, limit))
    return sorted(trades, key=lambda t: (t.closed_at or t.created_at, t.trade_id), reverse=True)


def _counts(connection: sqlite3.Connection, name: str, now: datetime) -> dict[str, Any]:
    """Counted as the engine's gates count them (engine.state): trades = created today and
    reached OPEN, attempts = every trade created today, failed ones included (I3)."""
    start, end = trade_rows.day_bounds(now.date())
    today = trade_rows.load_trades_where(
        connection, "strategy = ? AND created_at >= ? AND created_at < ?", (name, start, end))
    return {"strategy": name, "day": now.date().isoformat(),
            "trades": sum(1 for trade in today if trade.opened_at is not None),
            "attempts": len(today)}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _active(trade: Trade, now: datetime) -> dict[str, Any]:
    since = trade.transitions[-1].at if trade.transitions else trade.created_at
    return {
        "trade_id": trade.trade_id, "strategy": trade.strategy, "stage": trade.stage.value,
        "created_at": trade.created_at.isoformat(),
        "opened_at": trade.opened_at.isoformat() if trade.opened_at else None,
        "age_seconds": int((now - trade.created_at).total_seconds()),
        "in_stage_seconds": int((now - since).total_seconds()),
        "last_reason": trade.transitions[-1].reason if trade.transitions else None,
        "execution": trade.execution, "cycle": trade.cycle,
        "legs": [{"symbol": leg.symbol, "side": leg.side.value, "qty": str(leg.qty),
                  "filled_qty": str(leg.filled_qty), "entry_price": _text(leg.entry_price),
                  "open_qty": str(leg.open_qty)} for leg in trade.legs],
    }


def _closed(trade: Trade) -> dict[str, Any]:
    gross, fees = trade.realized_pnl(), trade.fees()
    return {
        "trade_id": trade.trade_id, "strategy": trade.strategy, "stage": trade.stage.value,
        "created_at": trade.created_at.isoformat(),
        "closed_at": trade.closed_at.isoformat() if trade.closed_at else None,
        "exit_reason": trade.exit_reason or trade.transitions[-1].reason,
        "pnl_gross_usd": str(gross), "fees_usd": str(fees), "pnl_net_usd": str(gross - fees),
        "still_held": [f"{leg.symbol} {leg.open_qty}" for leg in trade.legs if leg.open_qty],
    }


def _order(order: LedgerOrder) -> dict[str, Any]:
    request = order.request
    return {
        "client_order_id": order.client_order_id, "order_id": order.order_id,
        "trade_id": order.trade_id, "leg": order.key.leg_index,
        "purpose": order.key.purpose.value, "reason": order.key.reason,
        "symbol": request.symbol, "side": request.side.value, "qty": str(request.qty),
        "price": str(request.price), "filled_qty": str(order.filled_qty),
        "status": order.status.value, "reduce_only": request.reduce_only,
        "created_at": order.created_at.isoformat(),
    }


def read_heartbeat(path: Path, now: datetime) -> dict[str, Any]:
    """The heartbeat's time, tick, pid and age; `problem` says why it could not be read."""
    if not path.is_file():
        return {"file": str(path), "problem": "no heartbeat file: the service is not running "
                                              "here, or has not completed a tick yet"}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        at = datetime.fromisoformat(str(data["at"]))
        if at.tzinfo is None:
            raise ValueError("'at' has no time zone")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return {"file": str(path), "problem": f"heartbeat unreadable ({error})"}
    return {"file": str(path), "at": at.isoformat(), "tick": data.get("tick"),
            "pid": data.get("pid"), "age_seconds": round((now - at).total_seconds(), 1)}


def _cycle_launch(connection: sqlite3.Connection, spec: StrategySpec,
                  starts: dict[str, datetime], now: datetime) -> datetime | None:
    """The launch the service counts this strategy's cycles from: the last start, unless
    an earlier launch recorded on its trades (metadata "launch", runner.service.tracking) still has
    cycles to run (a restart resumes a schedule; it never starts it again, A1)."""
    start = starts.get(spec.name)
    if not isinstance(spec.schedule, CycleSchedule) or start is None:
        return start
    earlier = set()
    for (metadata,) in connection.execute("SELECT metadata FROM trades WHERE strategy = ?",
                                          (spec.name,)):
        earlier.update(datetime.fromisoformat(value) for key, value in json.loads(metadata)
                       if key == "launch")
    for previous in sorted(earlier, reverse=True):
        windows = spec.schedule.windows(previous)
        if windows and windows[-1].close_at > now and previous < start:
            return previous
    return start


def _next_window(spec: StrategySpec, launch: datetime | None, now: datetime) -> dict[str, Any]:
    from runner.engine.windows import next_cycle, open_cycle

    base: dict[str, Any] = {"strategy": spec.name, "enabled": spec.enabled}
    schedule = spec.schedule
    if schedule is None:
        return {**base, "schedule": None, "next": "no schedule: entry is checked every "
                f"{spec.timing.check_interval} when the gates and conditions pass"}
    kind = "cycles" if isinstance(schedule, CycleSchedule) else "daily"
    if kind == "cycles" and launch is None:
        return {**base, "schedule": kind, "next": "no run recorded: cycles start at launch"}
    origin = launch or now
    window = open_cycle(schedule, origin, now) or next_cycle(schedule, origin, now)
    if window is None:
        return {**base, "schedule": kind, "launch": origin.isoformat(),
                "next": "every cycle of this run has passed"}
    return {**base, "schedule": kind, "launch": origin.isoformat() if launch else None,
            "cycle": window.index, "open_start": window.open_start.isoformat(),
            "open_end": window.open_end.isoformat(), "close_at": window.close_at.isoformat(),
            "open_now": window.is_open(now)}
