"""What keeps the service loop's side jobs from ending it, and what ends it on purpose.

- `quietly(what, job)`: housekeeping between ticks (the open-trades snapshot, the health
  record) and the steps of a stop must never raise out of the loop: a read-only state
  directory or a full disk is logged (once per streak, then again when it recovers),
  not a crash loop.
- `StorageStreak`: the store failing to write tick after tick (SQLite disk I/O, disk
  full, read-only) is the environment, not the strategy: after `limit` ticks in a row
  whose errors say so, the loop ends with exit code 4 (`runner.service.exit_codes`) for the
  supervisor to restart it after a delay. A strategy's own errors never count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from loguru import logger

from runner.service import exit_codes
from runner.service.exit_codes import ServiceExit, mentions_storage_failure

T = TypeVar("T")
STORAGE_FAILURE_LIMIT: Final = 10  # ticks in a row, as the loop's own failure streak

_failing: set[str] = set()


def quietly(what: str, job: Callable[[], T]) -> T | None:
    """Run `job`; an exception is logged (once until `what` succeeds again), never raised."""
    try:
        result = job()
    except Exception as error:  # the loop must outlive any housekeeping failure
        if what not in _failing:
            _failing.add(what)
            logger.error("{} failed (the service goes on; logged once until it works "
                         "again): {!r}", what, error)
        return None
    if what in _failing:
        _failing.discard(what)
        logger.info("{} works again", what)
    return result


class StorageStreak:
    """Counts consecutive ticks whose errors say the store could not write."""

    def __init__(self, limit: int = STORAGE_FAILURE_LIMIT) -> None:
        self.limit = limit
        self.count = 0

    def observe(self, errors: list[tuple[str, str]]) -> None:
        """Feed one tick's (strategy, error) pairs; raise ServiceExit(4) at the limit."""
        storage = [text for _name, text in errors if mentions_storage_failure(text)]
        if not storage:
            self.count = 0
            return
        self.count += 1
        if self.count >= self.limit:
            raise ServiceExit(exit_codes.ENVIRONMENT,
                              f"the store failed to write in {self.count} ticks in a row; "
                              f"last: {' '.join(storage[-1].split())}")
