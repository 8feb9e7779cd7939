"""Shared fixtures: a scrubbed environment and a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime

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
