"""The saved paper account, as the trader's commands see it: read without changing it
(`runner plan`), and put aside to start over (`runner paper reset`).

In paper mode the service trades against a simulated exchange whose account (cash,
positions, working orders, margin) is saved in `<state root>/paper/paper-venue.json`
(`runner.sim.persistence`) next to the store of the paper trades. This module
reads that account into a throw-away copy of the venue, and describes the paper state
in one line per file so a person can see what a reset would set aside.

Invariants:
- Reading never writes: the copy is restored from the file and never saved.
- A reset never deletes: the files are moved, whole, into `reset-<UTC>/` inside the
  paper state directory, and only while this process holds the state directory's
  instance lock, so a paper service cannot start (or be running) during the move.
- The account and the store of its trades go aside together: a store whose trades hold
  positions the new account does not have would need a decision for each of them at the
  next start.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from runner.domain.clock import Clock
from runner.sim.config import SimConfig
from runner.store import trade_rows
from runner.store.layout import (
    COMPANIONS,
    HEARTBEAT_FILE,
    PAPER_VENUE_FILE,
    SNAPSHOT_FILE,
    STORE_FILE,
)

RESET_PREFIX: Final = "reset-"
PAPER_FILES: Final = (PAPER_VENUE_FILE, STORE_FILE, *(STORE_FILE + c for c in COMPANIONS),
                      SNAPSHOT_FILE, HEARTBEAT_FILE)


def describe_account(venue: Any) -> str:
    """`equity 99,953.12 USD, available margin 99.1 %, 1 position, 0 working orders (seed
    7, trading since 2026-12-03 13:33 UTC)`."""
    account = venue.account()
    positions, orders = len(venue.positions()), len(venue.open_orders())
    margin = account.available_margin_pct
    available = f"{margin:.1f} %" if margin is not None else "unknown"
    return (f"equity {account.equity:,.2f} USD, available margin {available}, "
            f"{_count(positions, 'position')}, {_count(orders, 'working order')} (seed "
            f"{venue.seed}, trading since {venue.started_at:%Y-%m-%d %H:%M} UTC)")


def new_account_line(config: SimConfig | None = None) -> str:
    cash = (config or SimConfig()).starting_cash
    return f"a new paper account with {cash:,.0f} USD"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class PaperReset:
    """What a reset of one paper state directory moves, and where to."""

    state_dir: Path
    files: tuple[Path, ...]
    archive: Path

    @property
    def empty(self) -> bool:
        return not self.files


def plan_reset(state_dir: Path, now: datetime) -> PaperReset:
    """The paper files present in `state_dir` and the `reset-<UTC>` folder for them."""
    present = tuple(state_dir / name for name in PAPER_FILES if (state_dir / name).exists())
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    archive, number = state_dir / f"{RESET_PREFIX}{stamp}", 1
    while archive.exists():
        archive, number = state_dir / f"{RESET_PREFIX}{stamp}-{number}", number + 1
    return PaperReset(state_dir, present, archive)


def carry_out(reset: PaperReset) -> None:
    """Move every file of `reset` into its archive folder (the caller holds the lock)."""
    reset.archive.mkdir(parents=True)
    for path in reset.files:
        os.replace(path, reset.archive / path.name)


def describe_files(reset: PaperReset, clock: Clock) -> list[str]:
    """One line per file a reset moves, saying what it holds."""
    return [f"{path.name}: {_file_text(path, reset.state_dir, clock)}" for path in reset.files]


def _file_text(path: Path, state_dir: Path, clock: Clock) -> str:
    if path.name == PAPER_VENUE_FILE:
        return _account_text(state_dir, clock)
    if path.name == STORE_FILE:
        return _store_text(path)
    if path.name == SNAPSHOT_FILE:
        return "the open-trades snapshot"
    if path.name == HEARTBEAT_FILE:
        return "the last heartbeat of the paper service"
    return "part of the store"


def _account_text(state_dir: Path, clock: Clock) -> str:
    from runner.service.venues import PaperAccountUnreadable, saved_paper_copy

    try:
        venue = saved_paper_copy(state_dir, clock)
    except PaperAccountUnreadable as error:
        return f"the paper account, which cannot be read ({error})"
    return "the paper account" if venue is None else f"the paper account: {describe_account(venue)}"


def _store_text(path: Path) -> str:
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=5)) as reader:
            total, open_ = reader.execute(
                "SELECT COUNT(*), COALESCE(SUM(stage NOT IN (?, ?)), 0) FROM trades",
                trade_rows.active_params()).fetchone()
    except sqlite3.Error as error:
        return f"the paper trades, which cannot be counted ({error})"
    still = f", {open_} not closed (set aside with the positions they hold)" if open_ else ""
    return f"the paper trades: {_count(int(total), 'trade')}{still}, the daily counts, pauses"
