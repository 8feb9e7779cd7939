"""A human-readable JSON snapshot of the open trades (the old `trade_state.json`).

The store is the memory; this file is only for people. It is still written so that
it is never half-written (lessons A6, whose files were NUL-filled after a reboot):
temp file in the same directory, write, flush, fsync, `os.replace`, then fsync the
directory on POSIX so the rename itself survives a power loss. A crash before the
rename leaves the previous snapshot intact and a stray temp file, which the next
write removes.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.domain.trades import Trade, TradeLeg

_TEMP_PREFIX = ".tmp-"
SNAPSHOT_FILE_NAME = "trade_state.json"
Replace = Callable[[str | os.PathLike[str], str | os.PathLike[str]], None]


def write_json_atomically(path: Path, data: object, *, replace: Replace = os.replace) -> None:
    """Write `data` as JSON to `path` so readers see the old file or the new, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    text = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    descriptor, temp_name = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{path.name}.",
                                             dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _remove_stale_temps(path: Path) -> None:
    for stray in path.parent.glob(f"{_TEMP_PREFIX}{path.name}.*"):
        stray.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory for fsync; os.replace is atomic there
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


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
