"""Noticing that the store's file was deleted or replaced while the service runs.

SQLite keeps writing to a deleted file through its open handle: the service would go on
with a memory that no longer exists on disk, and the next start would find no store
at all (issue 7). The store remembers the identity (device, inode) of its file when it
opens; `file_problem()` compares it with what is at the path now (one `stat` per tick).

`write_back()` restores the file from the open connection with SQLite's online backup:
every trade, ledger row and fill the service holds is copied into a new file at the
same path (a file found there that is not ours is first kept aside as
`<name>.corrupt-<UTC>`), and the store switches to it. Nothing is lost as long as the
process lives; the caller (`store_guard`) still blocks entries until a restart, because
whoever deleted the file may do it again.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from runner.common.files import quarantine

if TYPE_CHECKING:
    from datetime import datetime

FileIdentity = tuple[int, int]


def identity_of(path: Path) -> FileIdentity | None:
    """(device, inode) of the file at `path`; None when there is none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return (found.st_dev, found.st_ino)


class StoreFileMixin:
    """The file-identity half of `Store`."""

    _connection: sqlite3.Connection
    _identity: FileIdentity | None
    _depth: int
    path: Path

    if TYPE_CHECKING:
        def now(self) -> datetime: ...

    def remember_file(self) -> None:
        self._identity = identity_of(self.path)

    def file_problem(self) -> str | None:
        """Why the file at the path is not this store's any more; None when it still is."""
        now = identity_of(self.path)
        if now is None:
            return f"the store file {self.path} was deleted while the service runs"
        if self._identity is not None and now != self._identity:
            return f"the store file {self.path} was replaced by another file while the service runs"
        return None

    def write_back(self) -> Path | None:
        """Copy everything the open connection holds into a new file at the path and switch
        to it; returns where a foreign file found at the path was kept (None: there was
        none). Raises OSError or sqlite3.Error when it cannot be written (retry later)."""
        if self._depth:
            raise sqlite3.OperationalError("a transaction is open; write back between changes")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = None
        if identity_of(self.path) is not None:
            kept = quarantine(self.path, self.now(), companions=("-wal", "-shm", "-journal"))
        target = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
        try:
            self._connection.backup(target)
            target.execute("PRAGMA journal_mode = WAL")
            target.execute("PRAGMA synchronous = FULL")
            target.execute("PRAGMA foreign_keys = ON")
            target.execute("PRAGMA busy_timeout = 5000")
        except BaseException:
            target.close()
            raise
        target.row_factory = sqlite3.Row
        old, self._connection = self._connection, target
        old.close()
        self.remember_file()
        return kept
