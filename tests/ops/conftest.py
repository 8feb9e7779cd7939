"""Fixtures of the operations tests: logs in tmp_path, no alert channel from the shell."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from runner.service.log import configure_logging, shutdown_logging
from tests.ops.helpers_ops import FAKE_KEY, FAKE_SECRET


@pytest.fixture(autouse=True)
def no_alert_channel_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TELEGRAM_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def process_hooks_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """configure_logging installs excepthooks for the process; tests put the originals back."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    """Logging configured into tmp_path with the fake credentials; restored afterwards."""
    directory = tmp_path / "logs"
    configure_logging(directory, secrets=[FAKE_KEY, FAKE_SECRET], console=False)
    yield directory
    shutdown_logging(restore_stderr=False)
    logger.remove()
    logger.configure(patcher=lambda _record: None)
    logger.add(sys.stderr)
