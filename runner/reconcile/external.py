"""`runner trades external`: the operator declares exchange positions someone else's.

A position the runner did not open and must leave alone (the operator's own hedge, a
second tool on the same account) is recorded in the store with the quantity the
exchange shows beyond what the store's trades hold. The store-truth check then counts it
as explained and entries are no longer blocked by it; if the quantity changes later,
the difference is raised again (issue 7). Nothing is sent to the exchange.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from runner.domain.snapshot import Position
from runner.exchange.port import Exchange
from runner.reconcile.decisions import signed_holdings
from runner.store import Store

ZERO = Decimal(0)


def declare_external(store: Store, exchange: Exchange, symbols: Iterable[str],
                     now: datetime, *, clear: bool = False) -> list[str]:
    """Declare (or, with `clear`, forget) the named symbols' untracked quantity external."""
    wanted = list(symbols)
    found = {p.symbol: p.qty for p in exchange.positions()}
    held = signed_holdings(store.load_active_trades())
    lines = []
    for symbol in wanted:
        untracked = ZERO if clear else found.get(symbol, ZERO) - held.get(symbol, ZERO)
        with store.transaction():
            store.declare_external(symbol, untracked, note=f"declared {now.isoformat()}")
            store.audit("declare_external", symbol, "cleared" if untracked == 0 else "declared",
                        qty=untracked)
        lines.append(f"{symbol}: no longer declared external" if untracked == 0 else
                     f"{symbol}: {untracked} declared external (left alone, not the runner's)")
    return lines


def without_external(positions: Sequence[Position],
                     external: Mapping[str, Decimal]) -> list[Position]:
    """The exchange's positions less what the operator declared someone else's."""
    left = []
    for position in positions:
        qty = position.qty - external.get(position.symbol, ZERO)
        if qty != 0:
            left.append(replace(position, qty=qty))
    return left
