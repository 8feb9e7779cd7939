"""The paper venue on disk: `<state dir>/paper-venue.json`, restored on start, saved on change.

In paper mode the exchange is an in-process `SimVenue`; without this file every restart
would meet an empty account while the store remembers open trades. `open_paper_venue`
restores the saved venue (or starts a new one), and `PaperVenueSaver.save_if_changed`
writes it after a tick only when its state version moved.

Invariants (lessons A6, A7, A9): the file is never half-written (temp file in the same
directory, fsync, `os.replace`, then fsync of the directory on POSIX); a file that cannot
be read or restored is renamed `paper-venue.json.corrupt-<UTC>` and a new venue starts
with a report the service alerts on, so a damaged file never causes a crash loop; the
same code runs on every start (no marker files); the file lives in the state directory,
never under logs/. A file written by a newer runner is not damaged: `VenueStateTooNew`
is raised as is (like the store's `StoreTooNew`), never quarantined.

The exchange package must not import the store, so the atomic write is repeated here
rather than reusing `runner.store.snapshot_file`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from runner.common.files import Replace, write_json_atomically
from runner.common.files import quarantine as quarantine_file
from runner.domain.clock import Clock
from runner.sim.config import SimConfig
from runner.sim.venue import SimVenue
from runner.sim.venue_state import VenueStateError, VenueStateTooNew, config_fingerprint

PAPER_VENUE_FILE_NAME: Final = "paper-venue.json"



def paper_venue_path(state_dir: Path) -> Path:
    """Where the paper venue is kept: the state directory (never logs/, A9)."""
    return state_dir / PAPER_VENUE_FILE_NAME


@dataclass(frozen=True, slots=True)
class PaperVenueOpening:
    """The venue to trade against and what had to be done to get it."""

    venue: SimVenue
    path: Path
    restored: bool
    problem: str | None = None
    quarantined_to: Path | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def needs_alert(self) -> bool:
        return self.problem is not None

    def lines(self) -> list[str]:
        """What happened, in sentences a person can act on."""
        venue = self.venue
        if self.restored:
            return [f"paper venue: restored the account saved in {self.path} (seed "
                    f"{venue.seed}, trading since {venue.started_at:%Y-%m-%d %H:%M} UTC)",
                    *(f"paper venue: {note}" for note in self.notes)]
        fresh = (f"paper venue: started a new account with {venue.config.starting_cash} "
                 f"USD (seed {venue.seed}); it is saved in {self.path}")
        if self.problem is None:
            return [fresh]
        kept = (f"the damaged file was kept as {self.quarantined_to}" if self.quarantined_to
                else "the damaged file could not be moved aside and will be overwritten")
        return [f"paper venue: ALERT the saved account in {self.path} could not be restored "
                f"({self.problem})", f"paper venue: {kept}", fresh,
                "paper venue: positions the store remembers are missing from this account;"
                " reconciliation reports them"]


def open_paper_venue(state_dir: Path, clock: Clock, seed: int,
                     config: SimConfig | None = None) -> PaperVenueOpening:
    """Restore the paper venue saved in `state_dir`, or start one with `seed`.

    A saved venue keeps its own seed (its market is rebuilt from it); `seed` only seeds
    a new one. Raises `VenueStateTooNew` for a file written by a newer runner.
    """
    path = paper_venue_path(state_dir)
    if not path.exists():
        return PaperVenueOpening(SimVenue(clock, seed=seed, config=config), path, False)
    try:
        state = read_state(path)
        venue = SimVenue.from_state(clock, state, config)
    except VenueStateTooNew:
        raise
    except Exception as error:  # any failure to restore must not crash-loop (A6)
        problem = str(error) if isinstance(error, VenueStateError) else \
            f"{type(error).__name__}: {error}"
        return PaperVenueOpening(SimVenue(clock, seed=seed, config=config), path, False,
                                 problem, _quarantine_or_none(path, clock.now()))
    return PaperVenueOpening(venue, path, True, notes=_notes(state, venue))


def _notes(state: dict[str, Any], venue: SimVenue) -> tuple[str, ...]:
    notes = [f"{len(venue.positions())} positions, {len(venue.open_orders())} working orders,"
             f" caught up from {state.get('now')}"]
    if state.get("config") != config_fingerprint(venue.config):
        notes.append("the simulator configuration changed since the save: the market was "
                     "rebuilt with the new one, so marks and listings may differ")
    return tuple(notes)


def read_state(path: Path) -> dict[str, Any]:
    """The saved state as parsed JSON; `VenueStateError` when it cannot be read."""
    try:
        state = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VenueStateError(f"unreadable: {error}") from error
    if not isinstance(state, dict):
        raise VenueStateError("not a saved paper venue")
    return state


class PaperVenueSaver:
    """Writes a venue to its file, only when its state version changed since the last write."""

    def __init__(self, venue: SimVenue, path: Path, *, replace: Replace = os.replace) -> None:
        self._venue = venue
        self._path = path
        self._replace = replace
        self._saved_version: int | None = None

    @property
    def path(self) -> Path:
        return self._path

    def save_if_changed(self) -> bool:
        """Save when something changed (always on the first call); True when written.

        An `OSError` (disk full, permissions) is raised for the caller to log; the next
        call tries again, since nothing was recorded as saved.
        """
        if self._venue.state_version() == self._saved_version:
            return False
        self.save()
        return True

    def save(self) -> None:
        """Write the venue now, whatever its version."""
        state = self._venue.export_state()
        write_state_atomically(self._path, state, replace=self._replace)
        self._saved_version = state["state_version"]


def write_state_atomically(path: Path, data: object, *, replace: Replace = os.replace) -> None:
    """Write `data` as compact JSON to `path`: readers see the old file or the new."""
    write_json_atomically(path, data, replace=replace, compact=True)


def quarantine(path: Path, now: datetime) -> Path:
    """Rename a damaged file to `<name>.corrupt-<UTC>` (never deleted); return the new path."""
    return quarantine_file(path, now)


def _quarantine_or_none(path: Path, now: datetime) -> Path | None:
    try:
        return quarantine(path, now)
    except OSError:
        return None
