"""One state directory per environment, and the one-time move of the older single store.

Before issue 7 every environment kept its state directly in the state root
(`state/runner.sqlite3`, `state/heartbeat.json`, ...), so a testnet run read the paper
run's trades, counted them towards its daily limits and asked for decisions about
positions testnet never had. Now each environment has `<root>/<environment>/`.

`migrate_legacy_state(root)` runs at every `runner run` start and is idempotent: with no
store in the root it does nothing. A store found there is moved, with its companions,
the open-trades snapshot, the heartbeat and (paper) the paper venue, into the
directory of the environment it belonged to, known from (in this order) the
environment the store recorded, the heartbeat's `environment`, or a paper venue file
beside it (only paper has one). When none of these says, or the target already holds a
store, nothing is moved and `LegacyStateUnclear` names the file and the fix. Nothing is
ever deleted.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Final

ENVIRONMENTS: Final = ("paper", "testnet", "production")
STORE_FILE: Final = "runner.sqlite3"
COMPANIONS: Final = ("-wal", "-shm", "-journal")
HEARTBEAT_FILE: Final = "heartbeat.json"
SNAPSHOT_FILE: Final = "trade_state.json"
PAPER_VENUE_FILE: Final = "paper-venue.json"


class LegacyStateUnclear(RuntimeError):
    """A store from before per-environment directories cannot be moved safely."""


def migrate_legacy_state(root: Path) -> list[str]:
    """Move a store kept directly in `root` into `root/<its environment>/`; lines say what."""
    legacy = root / STORE_FILE
    if not legacy.is_file():
        return []
    environment = legacy_environment(root)
    if environment is None:
        raise LegacyStateUnclear(
            f"{legacy} is a store from before per-environment state directories, and which"
            " environment it traded cannot be told (it recorded none, and there is no"
            f" {HEARTBEAT_FILE} or {PAPER_VENUE_FILE} beside it). Move it by hand into"
            f" {root}/<environment>/{STORE_FILE} (environment: paper, testnet or production,"
            " the one it traded), with its -wal and -shm files if present, then start again")
    target = root / environment
    if (target / STORE_FILE).exists():
        raise LegacyStateUnclear(
            f"{legacy} is a store from before per-environment state directories and belongs"
            f" to {environment}, but {target / STORE_FILE} exists already; nothing was moved."
            f" Keep the one that holds the trades of {environment} in {target} and move the"
            " other out of the state directory, then start again")
    target.mkdir(parents=True, exist_ok=True)
    moved = [name for name in _legacy_files(environment) if _move(root / name, target / name)]
    return [f"state: moved {', '.join(moved)} from {root} into {target} (the {environment}"
            " environment's directory; one store per environment)"]


def prepare_state(root: Path, environment: str) -> list[str]:
    """At `runner run`: move a legacy store, then make sure the environment's directory
    does not hold another environment's store (copied by hand); raise LegacyStateUnclear."""
    lines = migrate_legacy_state(root)
    store = root / environment / STORE_FILE
    recorded = _recorded(store) if store.is_file() else None
    if recorded is not None and recorded != environment:
        raise LegacyStateUnclear(
            f"{store} holds the trades of {recorded}, not {environment}; move it to"
            f" {root / recorded / STORE_FILE} (or set TRADING_ENVIRONMENT={recorded}),"
            " then start again")
    return lines


def legacy_environment(root: Path) -> str | None:
    """The environment the store in `root` belonged to, or None when it cannot be known."""
    return (_recorded(root / STORE_FILE) or _heartbeat_environment(root / HEARTBEAT_FILE)
            or ("paper" if (root / PAPER_VENUE_FILE).is_file() else None))


def legacy_hint(root: Path) -> str | None:
    """For read-only commands: a store still in the root, not yet moved by `runner run`."""
    legacy = root / STORE_FILE
    if not legacy.is_file():
        return None
    return (f"{legacy} is a store from before per-environment state directories; the next"
            " `runner run` moves it into the directory of its environment")


def _legacy_files(environment: str) -> list[str]:
    names = [STORE_FILE, *(STORE_FILE + suffix for suffix in COMPANIONS), SNAPSHOT_FILE,
             HEARTBEAT_FILE]
    return [*names, PAPER_VENUE_FILE] if environment == "paper" else names


def _move(source: Path, target: Path) -> bool:
    if not source.exists() or target.exists():
        return False
    os.replace(source, target)
    return True


def _recorded(store: Path) -> str | None:
    try:
        with closing(sqlite3.connect(f"file:{store}?mode=ro&immutable=1", uri=True,
                                    timeout=1)) as reader:
            row = reader.execute("SELECT value FROM store_meta WHERE key = 'environment'"
                                 ).fetchone()
    except sqlite3.Error:
        return None  # an older store (no such table) or not a database: ask the others
    return row[0] if row and row[0] in ENVIRONMENTS else None


def _heartbeat_environment(path: Path) -> str | None:
    try:
        found = json.loads(path.read_text(encoding="utf-8")).get("environment")
    except (OSError, ValueError, AttributeError):
        return None
    return found if found in ENVIRONMENTS else None
