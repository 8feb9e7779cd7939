"""The pure half of reconciliation: store view + exchange view -> a plan with reasons.

No I/O here: given the active trades (fills already credited from the ledger), the
ledger rows, the exchange's working orders and positions and the time, decide which
orders are orphans to cancel, which orders and positions are someone else's (left
alone, and said so), which trades expired and are settled (lessons G1), and which
positions the store believes in but the exchange does not show (a decision for the
operator, lessons H6).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from runner.domain.instruments import parse_symbol
from runner.domain.ledger import LedgerOrder, LedgerStatus
from runner.domain.orders import Order
from runner.domain.snapshot import Position
from runner.domain.trades import ZERO, Trade


@dataclass(frozen=True, slots=True)
class Orphan:
    """A working order the runner placed but no longer wants."""

    order: Order
    trade_id: str
    why: str


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """The store holds `expected` of a symbol (signed) but the exchange shows `found`."""

    symbol: str
    expected: Decimal
    found: Decimal
    trade_ids: tuple[str, ...]

    def line(self) -> str:
        return (f"DECISION NEEDED: {self.symbol}: the store holds {self.expected} for trade(s)"
                f" {', '.join(self.trade_ids)} but the exchange shows {self.found};"
                " choose adopt (keep tracking), mark closed externally, or flatten")


@dataclass(frozen=True, slots=True)
class ReconcilePlan:
    orphans: tuple[Orphan, ...] = ()
    foreign_orders: tuple[Order, ...] = ()
    foreign_positions: tuple[Position, ...] = ()
    surplus_positions: tuple[tuple[str, Decimal], ...] = ()  # ours plus someone else's
    expired_trades: tuple[str, ...] = ()  # every held leg expired and gone: settle
    awaiting_settlement: tuple[str, ...] = ()  # expired but the position still shows
    discrepancies: tuple[Discrepancy, ...] = ()


def plan_reconciliation(trades: Sequence[Trade], ledger: Iterable[LedgerOrder],
                        working: Sequence[Order], positions: Sequence[Position],
                        now: datetime) -> ReconcilePlan:
    """Compare what the store believes with what the exchange shows."""
    rows = {row.client_order_id: row for row in ledger}
    active = {trade.trade_id: trade for trade in trades}
    orphans, foreign = _classify_orders(rows, active, working)
    expected = _expected_positions(trades)
    found = {p.symbol: p.qty for p in positions}
    expired, waiting = _expiries(trades, found, now)
    return ReconcilePlan(
        orphans=tuple(orphans), foreign_orders=tuple(foreign),
        foreign_positions=tuple(p for p in positions if p.symbol not in expected
                                and not _is_expired(p.symbol, now)),
        surplus_positions=tuple(_surplus(expected, found)),
        expired_trades=tuple(expired), awaiting_settlement=tuple(waiting),
        discrepancies=tuple(_discrepancies(expected, found, trades, now)),
    )


def _classify_orders(rows: dict[int, LedgerOrder], active: dict[str, Trade],
                     working: Sequence[Order]) -> tuple[list[Orphan], list[Order]]:
    orphans: list[Orphan] = []
    foreign: list[Order] = []
    newest = _newest_attempts(rows.values())
    for order in working:
        row = rows.get(order.client_order_id) if order.client_order_id is not None else None
        if row is None:
            foreign.append(order)
            continue
        why = _unwanted(row, active, newest)
        if why is not None:
            orphans.append(Orphan(order, row.trade_id, why))
    return orphans, foreign


def _unwanted(row: LedgerOrder, active: dict[str, Trade],
              newest: dict[tuple[str, int, str], int]) -> str | None:
    if row.trade_id not in active:
        return "its trade is no longer active"
    if row.cancel_requested_at is not None:
        return f"the runner asked to cancel it ({row.cancel_reason})"
    if row.status is LedgerStatus.REJECTED:
        return "the runner had given it up"
    key = (row.trade_id, row.key.leg_index, row.key.purpose.value)
    if newest.get(key, row.key.attempt) > row.key.attempt:
        return "a newer attempt replaced it"
    return None


def _newest_attempts(rows: Iterable[LedgerOrder]) -> dict[tuple[str, int, str], int]:
    newest: dict[tuple[str, int, str], int] = {}
    for row in rows:
        if row.status is LedgerStatus.REJECTED and row.send_attempts == 0:
            continue
        key = (row.trade_id, row.key.leg_index, row.key.purpose.value)
        newest[key] = max(newest.get(key, row.key.attempt), row.key.attempt)
    return newest


def _is_expired(symbol: str, now: datetime) -> bool:
    try:
        return parse_symbol(symbol).expiry <= now
    except ValueError:
        return False


def _expected_positions(trades: Sequence[Trade]) -> dict[str, Decimal]:
    """Signed quantity per symbol the active trades hold (long +, short -)."""
    expected: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for trade in trades:
        for leg in trade.legs:
            if leg.open_qty > 0:
                expected[leg.symbol] += leg.open_qty * leg.side.sign
    return dict(expected)


def _expiries(trades: Sequence[Trade], found: dict[str, Decimal],
              now: datetime) -> tuple[list[str], list[str]]:
    expired: list[str] = []
    waiting: list[str] = []
    for trade in trades:
        held = [leg for leg in trade.legs if leg.open_qty > 0]
        if not held or not all(_is_expired(leg.symbol, now) for leg in held):
            continue
        if any(found.get(leg.symbol, ZERO) != 0 for leg in held):
            waiting.append(trade.trade_id)
        else:
            expired.append(trade.trade_id)
    return expired, waiting


def _surplus(expected: dict[str, Decimal],
             found: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
    surplus = []
    for symbol, ours in expected.items():
        there = found.get(symbol, ZERO)
        if ours * there > 0 and abs(there) > abs(ours):
            surplus.append((symbol, there - ours))
    return surplus


def _discrepancies(expected: dict[str, Decimal], found: dict[str, Decimal],
                   trades: Sequence[Trade], now: datetime) -> list[Discrepancy]:
    result = []
    for symbol, ours in expected.items():
        if _is_expired(symbol, now):
            continue  # settlement (G1), not a discrepancy
        there = found.get(symbol, ZERO)
        if ours * there > 0 and abs(there) >= abs(ours):
            continue
        owners = tuple(t.trade_id for t in trades
                       if any(leg.symbol == symbol and leg.open_qty > 0 for leg in t.legs))
        result.append(Discrepancy(symbol, ours, there, owners))
    return result
