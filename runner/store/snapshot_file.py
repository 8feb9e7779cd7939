"""A human-readable JSON snapshot of the open trades (the old `trade_state.json`).

The store is the memory; this file is only for people. It is still never half-written
(lessons A6): `runner.common.files.write_json_atomically` replaces it atomically and durably.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.common.files import write_json_atomically
from runner.domain.trades import Trade, TradeLeg

SNAPSHOT_FILE_NAME = "trade_state.json"


def default_snapshot_path(state_dir: Path) -> Path:
    """Where the human-readable snapshot lives: next to the store, never under logs/."""
    return state_dir / SNAPSHOT_FILE_NAME


def write_open_trades(path: Path, trades: Iterable[Trade], at: datetime) -> None:
    """Write the snapshot of open trades for people to read."""
    write_json_atomically(path, {"written_at": at.isoformat(),
                                 "trades": [trade_summary(t) for t in trades]})


def trade_summary(trade: Trade) -> dict[str, Any]:
    return {
        "trade_id": trade.trade_id, "strategy": trade.strategy, "stage": trade.stage.value,
        "created_at": trade.created_at.isoformat(),
        "opened_at": trade.opened_at.isoformat() if trade.opened_at else None,
        "exit_reason": trade.exit_reason, "execution": trade.execution,
        "legs": [_leg_summary(leg) for leg in trade.legs],
        "last_transition": trade.transitions[-1].reason if trade.transitions else None,
    }


def _leg_summary(leg: TradeLeg) -> dict[str, Any]:
    return {"symbol": leg.symbol, "side": leg.side.value, "qty": str(leg.qty),
            "filled_qty": str(leg.filled_qty), "closed_qty": str(leg.closed_qty),
            "entry_price": None if leg.entry_price is None else str(leg.entry_price),
            "exit_price": None if leg.exit_price is None else str(leg.exit_price),
            "fees": str(leg.fees)}
