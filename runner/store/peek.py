"""A read-only look into a store before the service opens it (nothing is created or migrated).

`runner run` asks it one question before it commits to starting: does the store hold
trades in flight? With no valid strategy to run, those trades are the only reason to start.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from runner.store import trade_rows


def holds_trades_in_flight(path: Path) -> bool:
    """True when the store has a trade not yet closed or failed, or cannot be read (a
    damaged store is the service's to handle: starting is the safe answer)."""
    if not path.exists():
        return False
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                             timeout=5) as reader:
            row = reader.execute("SELECT COUNT(*) FROM trades WHERE stage NOT IN (?, ?)",
                                 trade_rows.active_params()).fetchone()
    except sqlite3.Error:
        return True
    return bool(row and row[0])
