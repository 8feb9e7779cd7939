"""The index at entry is the index when the trade is filled, not when it was decided.

Lessons E7: exit rules may reference the underlying's move since entry (`index_move`),
and the entry index is captured at OPEN. A trade is created (PENDING_OPEN) with the
index of the tick that decided it, so a rule has a value even before the fill; the tick
whose fills move the trade to OPEN replaces it with that tick's index. An open that
takes a minute of requotes in a moving market then measures the move from where the
trade really stood when it became a position.

Where that tick has no index price (unreadable, or withheld as stale, lessons C1) the
decision's value is kept: it is the nearest reading we have, and the exit rule is still
skipped on a tick without a fresh index. A trade found filled by start-up reconciliation
(the process was down at the fill) keeps its decision's index too; no tick saw the fill.

Pure: trades and a snapshot in, a trade out.
"""

from __future__ import annotations

from dataclasses import replace

from runner.domain.instruments import Underlying, parse_symbol
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade


def with_entry_index_at_open(before: Trade, after: Trade, snapshot: MarketSnapshot,
                             underlying: Underlying | None = None) -> Trade:
    """`after`, with the index of `snapshot` as its entry index when this step opened it.

    `underlying`: the strategy's (what `index_move` reads); by default the first leg's.
    """
    if before.opened_at is not None or after.opened_at is None or not after.legs:
        return after
    index = snapshot.index_price(underlying or parse_symbol(after.legs[0].symbol).underlying)
    if index is None:
        return after
    return replace(after, index_at_entry=index)
