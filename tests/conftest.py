"""Shared fixtures: a scrubbed environment and a manual clock."""

from __future__ import annotations

import contextlib
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runner.domain.clock import ManualClock

_ENV_PREFIXES = ("COINCALL_", "TRADING_ENVIRONMENT", "RUNNER_", "TELEGRAM_")


@pytest.fixture(autouse=True)
def scrubbed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever sees real credentials or a production setting from the developer's shell."""
    import os

    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No process a test started outlives the suite: a test that fails while waiting must
    not leave a `runner run` trading in the background, or keep CI's output open."""
    del session, exitstatus
    for pid in _children(os.getpid()):
        with contextlib.suppress(OSError):  # already gone
            os.kill(pid, signal.SIGKILL)


def _children(parent: int) -> list[int]:
    """The pids whose parent is `parent` (Linux /proc; elsewhere none are known)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found
