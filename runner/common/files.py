"""Files that must never be half-written or lost: atomic replacement and quarantine.

Every state file the runner writes (the open-trades snapshot, the paper venue, the
heartbeat) goes through `write_text_atomically`: a temp file in the same directory,
flushed and fsynced, then `os.replace`, then the directory fsynced on POSIX, so a reader
or a restart sees the old file or the new one, never a mix (lessons A6: NUL-filled
files after a hard reboot). A crash before the rename leaves the old file whole and a
stray temp file, which the next write removes. On Windows a reader holding the target
open makes the rename fail for a moment, so it is retried briefly.

A damaged file is never deleted: `quarantine` renames it aside with a UTC stamp so a
person can look at it, and the caller starts fresh (lessons A6, A9).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Final

TEMP_PREFIX: Final = ".tmp-"
_REPLACE_ATTEMPTS: Final = 5
_REPLACE_PAUSE_SECONDS: Final = 0.05

Replace = Callable[[str | os.PathLike[str], str | os.PathLike[str]], None]


def write_text_atomically(path: Path, text: str, *, replace: Replace = os.replace,
                          durable: bool = True) -> None:
    """Replace `path` with `text` atomically; `durable` also fsyncs file and directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stray in path.parent.glob(f"{TEMP_PREFIX}{path.name}.*"):
        stray.unlink(missing_ok=True)  # left by a crash before a rename
    descriptor, temp_name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.",
                                             dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        _replace_with_retry(replace, temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(path.parent)


def write_json_atomically(path: Path, data: object, *, replace: Replace = os.replace,
                          compact: bool = False, durable: bool = True) -> None:
    """Write `data` as JSON to `path` atomically (readable by default, compact on request)."""
    if compact:
        text = json.dumps(data, separators=(",", ":"), default=str)
    else:
        text = json.dumps(data, indent=2, sort_keys=True, default=str)
    write_text_atomically(path, text + "\n", replace=replace, durable=durable)


def quarantine(path: Path, now: datetime, *, companions: tuple[str, ...] = ()) -> Path:
    """Rename a damaged file (and its companions, e.g. `-wal`) to `<name>.corrupt-<UTC>`."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")  # a second quarantine that second gets "-1"
    target = _free_name(path.with_name(f"{path.name}.corrupt-{stamp}"))
    os.replace(path, target)
    for suffix in companions:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    return target


def _free_name(candidate: Path) -> Path:
    number, chosen = 1, candidate
    while chosen.exists():
        chosen = candidate.with_name(f"{candidate.name}-{number}")
        number += 1
    return chosen


def _replace_with_retry(replace: Replace, source: str, target: Path) -> None:
    for attempt in range(1, _REPLACE_ATTEMPTS + 1):
        try:
            replace(source, target)
            return
        except PermissionError:  # Windows: a reader has the target open right now
            if attempt == _REPLACE_ATTEMPTS:
                raise
            time.sleep(_REPLACE_PAUSE_SECONDS)


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory for fsync; os.replace is atomic there
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
