"""Opening the store on every start, with a quarantine instead of a crash loop.

A damaged store (empty, truncated, NUL-filled, not a database, tables missing) is renamed to
`<name>.corrupt-<UTC timestamp>` together with its `-wal` and `-shm` companions, a fresh
store is created in its place, and the returned `StoreOpening` carries a report the
service alerts on; reconciliation then rebuilds what it can from the exchange
(lessons A6). Nothing here depends on a marker file: the same code runs on every start
and is idempotent (lessons A7). A 0-byte file is damage, not a new store: SQLite would
open it as an empty database without a word, and a runner that forgot its trades must
say so (issue 7). A store that is merely locked (another runner holds
it) or too new is not damaged: that error is raised as is, never quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from runner.common.files import quarantine as quarantine_file
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

    @property
    def starts_blank(self) -> bool:
        """True when the store holds no memory of earlier runs (new or quarantined)."""
        return self.created or self.problem is not None

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
        if existed and path.stat().st_size == 0:
            raise StoreUnreadable(f"{path}: the file is empty (0 bytes); its memory is gone")
        return StoreOpening(Store.open(path, clock), created=not existed)
    except StoreUnreadable as exc:
        problem = str(exc)
    quarantined = quarantine(path, clock.now())
    return StoreOpening(Store.open(path, clock), created=True, problem=problem,
                        quarantined_to=quarantined)


def quarantine(path: Path, now: datetime) -> Path:
    """Move the store file and its companions aside; return the new name of the file."""
    return quarantine_file(path, now, companions=_COMPANIONS)
