"""The runner's durable memory (SQLite in the state directory) and its recovery on start."""

from runner.store.recovery import StoreOpening, open_store, quarantine
from runner.store.schema import StoreTooNew
from runner.store.snapshot_file import (
    default_snapshot_path,
    write_json_atomically,
    write_open_trades,
)
from runner.store.store import (
    DEFAULT_STATE_DIR,
    STORE_FILE_NAME,
    Store,
    StoreLocationRefused,
    StoreUnreadable,
    default_store_path,
)

__all__ = [
    "DEFAULT_STATE_DIR",
    "STORE_FILE_NAME",
    "Store",
    "StoreLocationRefused",
    "StoreOpening",
    "StoreTooNew",
    "StoreUnreadable",
    "default_snapshot_path",
    "default_store_path",
    "open_store",
    "quarantine",
    "write_json_atomically",
    "write_open_trades",
]
