"""Trades, legs and transitions: rows to domain objects and back.

Invariant: a saved trade's transitions only ever grow. Saving a trade whose history
is shorter than, or disagrees with, what is stored raises `HistoryRewritten`: that is
a bug in the caller, and silently accepting it would lose why a trade did what it did.
Daily counters are not stored: they are counted from the trades table, so a restart
cannot reset them (lessons A1, I3).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg, TradeStage, Transition
from runner.store.codec import (
    dec_text,
    dec_value,
    must_dec,
    must_time,
    opt_time_text,
    time_text,
    time_value,
)

_TERMINAL = tuple(stage.value for stage in TradeStage if stage.is_terminal)


class HistoryRewritten(RuntimeError):
    """A trade was saved with a transition history that contradicts the stored one."""


def save_trade(connection: sqlite3.Connection, trade: Trade, now: datetime) -> int:
    """Upsert the trade and its legs, append new transitions; return how many were added."""
    connection.execute(
        "INSERT INTO trades (trade_id, strategy, stage, created_at, opened_at, closed_at,"
        " exit_reason, cycle, index_at_entry, execution, metadata, updated_at,"
        " failure_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (trade_id) DO UPDATE SET strategy=excluded.strategy,"
        " stage=excluded.stage, opened_at=excluded.opened_at, closed_at=excluded.closed_at,"
        " exit_reason=excluded.exit_reason, cycle=excluded.cycle,"
        " index_at_entry=excluded.index_at_entry, execution=excluded.execution,"
        " metadata=excluded.metadata, updated_at=excluded.updated_at,"
        " failure_reason=excluded.failure_reason",
        (trade.trade_id, trade.strategy, trade.stage.value, time_text(trade.created_at),
         opt_time_text(trade.opened_at), opt_time_text(trade.closed_at), trade.exit_reason,
         trade.cycle, dec_text(trade.index_at_entry), trade.execution,
         json.dumps([list(pair) for pair in trade.metadata]), time_text(now),
         trade.failure_reason),
    )
    for leg in trade.legs:
        _save_leg(connection, trade.trade_id, leg)
    return _append_transitions(connection, trade)


def _save_leg(connection: sqlite3.Connection, trade_id: str, leg: TradeLeg) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO trade_legs (trade_id, leg_index, symbol, side, qty, filled_qty,"
        " entry_price, closed_qty, exit_price, fees, delta_at_entry)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (trade_id, leg.index, leg.symbol, leg.side.value, str(leg.qty), str(leg.filled_qty),
         dec_text(leg.entry_price), str(leg.closed_qty), dec_text(leg.exit_price),
         str(leg.fees), leg.delta_at_entry),
    )


def _append_transitions(connection: sqlite3.Connection, trade: Trade) -> int:
    stored = connection.execute(
        "SELECT seq, to_stage FROM transitions WHERE trade_id = ? ORDER BY seq",
        (trade.trade_id,)).fetchall()
    if len(stored) > len(trade.transitions):
        raise HistoryRewritten(f"trade {trade.trade_id}: {len(stored)} transitions stored,"
                               f" {len(trade.transitions)} given")
    for (seq, to_stage), transition in zip(stored, trade.transitions, strict=False):
        if to_stage != transition.to_stage.value:
            raise HistoryRewritten(f"trade {trade.trade_id}: transition {seq} was {to_stage},"
                                   f" now {transition.to_stage.value}")
    new = trade.transitions[len(stored):]
    connection.executemany(
        "INSERT INTO transitions (trade_id, seq, from_stage, to_stage, reason, at)"
        " VALUES (?,?,?,?,?,?)",
        [(trade.trade_id, len(stored) + offset,
          None if t.from_stage is None else t.from_stage.value, t.to_stage.value, t.reason,
          time_text(t.at)) for offset, t in enumerate(new)],
    )
    return len(new)


def load_trade(connection: sqlite3.Connection, trade_id: str) -> Trade | None:
    row = connection.execute("SELECT * FROM trades WHERE trade_id = ?", (trade_id,)).fetchone()
    return None if row is None else _trade_from_row(connection, row)


def load_trades_where(connection: sqlite3.Connection, where: str,
                      params: tuple[object, ...]) -> list[Trade]:
    rows = connection.execute(
        f"SELECT * FROM trades WHERE {where} ORDER BY created_at, trade_id",  # noqa: S608
        params).fetchall()
    return [_trade_from_row(connection, row) for row in rows]


def active_where() -> str:
    return f"stage NOT IN ({', '.join('?' for _ in _TERMINAL)})"


def active_params() -> tuple[str, ...]:
    return _TERMINAL


def _trade_from_row(connection: sqlite3.Connection, row: sqlite3.Row) -> Trade:
    trade_id = row["trade_id"]
    legs = connection.execute(
        "SELECT * FROM trade_legs WHERE trade_id = ? ORDER BY leg_index", (trade_id,)).fetchall()
    transitions = tuple(_transition_from_row(t) for t in connection.execute(
        "SELECT * FROM transitions WHERE trade_id = ? ORDER BY seq", (trade_id,)).fetchall())
    return Trade(
        trade_id=trade_id, strategy=row["strategy"], stage=TradeStage(row["stage"]),
        created_at=must_time(row["created_at"]),
        legs=tuple(_leg_from_row(leg) for leg in legs),
        transitions=transitions,
        opened_at=time_value(row["opened_at"]), closed_at=time_value(row["closed_at"]),
        exit_reason=row["exit_reason"], cycle=row["cycle"],
        index_at_entry=dec_value(row["index_at_entry"]), execution=row["execution"],
        metadata=tuple((str(k), str(v)) for k, v in json.loads(row["metadata"])),
        failure_reason=_failure_reason(row, transitions),
    )


def _failure_reason(row: sqlite3.Row, transitions: tuple[Transition, ...]) -> str | None:
    """The stored reason; a store read before its migration to version 4 (read-only, by
    `runner status`) has none: a FAILED trade then takes its move to FAILED's reason."""
    stored = row["failure_reason"] if "failure_reason" in row.keys() else None  # noqa: SIM118
    if stored or row["stage"] != TradeStage.FAILED.value:
        return stored
    return next((t.reason for t in reversed(transitions)
                 if t.to_stage is TradeStage.FAILED), None)


def _leg_from_row(row: sqlite3.Row) -> TradeLeg:
    return TradeLeg(index=row["leg_index"], symbol=row["symbol"], side=Side(row["side"]),
                    qty=must_dec(row["qty"]), filled_qty=must_dec(row["filled_qty"]),
                    entry_price=dec_value(row["entry_price"]),
                    closed_qty=must_dec(row["closed_qty"]),
                    exit_price=dec_value(row["exit_price"]), fees=must_dec(row["fees"]),
                    delta_at_entry=row["delta_at_entry"])


def _transition_from_row(row: sqlite3.Row) -> Transition:
    from_stage = row["from_stage"]
    return Transition(None if from_stage is None else TradeStage(from_stage),
                      TradeStage(row["to_stage"]), row["reason"], must_time(row["at"]))


def day_bounds(day: date) -> tuple[str, str]:
    """The [start, end) of one UTC calendar day, as stored time text."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return time_text(start), time_text(start + timedelta(days=1))


def count_created(connection: sqlite3.Connection, strategy: str, day: date, *,
                  include_failed: bool) -> int:
    start, end = day_bounds(day)
    failed_clause = "" if include_failed else " AND stage != ?"
    params: tuple[object, ...] = (strategy, start, end)
    if not include_failed:
        params = (*params, TradeStage.FAILED.value)
    row = connection.execute(
        "SELECT COUNT(*) FROM trades WHERE strategy = ? AND created_at >= ?"  # noqa: S608
        f" AND created_at < ?{failed_clause}", params).fetchone()
    return int(row[0])


def last_created_at(connection: sqlite3.Connection, strategy: str) -> datetime | None:
    row = connection.execute("SELECT MAX(created_at) FROM trades WHERE strategy = ?",
                             (strategy,)).fetchone()
    return time_value(row[0])


def held_quantity(connection: sqlite3.Connection) -> Decimal:
    """Total quantity the active trades still hold, over every leg."""
    rows = connection.execute(
        f"SELECT l.filled_qty, l.closed_qty FROM trade_legs l JOIN trades t"  # noqa: S608
        f" USING (trade_id) WHERE t.{active_where()}", active_params()).fetchall()
    return sum((max(Decimal(0), Decimal(f) - Decimal(c)) for f, c in rows), Decimal(0))
