"""Opening the store on every start, with a quarantine instead of a crash loop.

A damaged store (truncated, NUL-filled, not a database, tables missing) is renamed to
`<name>.corrupt-<UTC timestamp>` together with its `-wal` and `-shm` companions, a fresh
store is created in its place, and the returned `StoreOpening` carries a report the
service alerts on; reconciliation then rebuilds what it can from the exchange
(lessons A6). Nothing here depends on a marker file: the same code runs on every start
and is idempotent (lessons A7). A store that is merely locked (another runner holds
it) or too new is not damaged: that error is raised as is, never quarantined.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from runner.domain.clock import Clock
from runner.store.store import Store, StoreUnreadable

_COMPANIONS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True, slots=True)
class StoreOpening:
    """The opened store and what, if anything, had to be done to open it."""

    store: Store
    created: bool
    problem: str | None = None
    quarantined_to: Path | None = None

    @property
    def needs_alert(self) -> bool:
        return self.problem is not None

    def lines(self) -> list[str]:
        """What happened, in sentences a person can act on."""
        if self.problem is None:
            verb = "created a new" if self.created else "opened the"
            return [f"store: {verb} store at {self.store.path}"]
        return [
            f"store: ALERT the store at {self.store.path} was unreadable ({self.problem})",
            f"store: the damaged file was kept as {self.quarantined_to}",
            "store: started with a fresh store; reconciliation rebuilds from the exchange,"
            " and positions it cannot attribute are reported, not touched",
        ]


def open_store(path: Path, clock: Clock) -> StoreOpening:
    """Open the store at `path`, quarantining it first when it is damaged."""
    existed = path.exists()
    try:
        return StoreOpening(Store.open(path, clock), created=not existed)
    except StoreUnreadable as exc:
        problem = str(exc)
    quarantined = quarantine(path, clock.now())
    return StoreOpening(Store.open(path, clock), created=True, problem=problem,
                        quarantined_to=quarantined)


def quarantine(path: Path, now: datetime) -> Path:
    """Move the store file and its companions aside; return the new name of the file."""
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    target = _free_name(path.with_name(f"{path.name}.corrupt-{stamp}"))
    os.replace(path, target)
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    return target


def _free_name(candidate: Path) -> Path:
    number = 1
    chosen = candidate
    while chosen.exists():
        chosen = candidate.with_name(f"{candidate.name}-{number}")
        number += 1
    return chosen
