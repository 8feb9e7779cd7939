"""Fixtures of the plan/status command tests: a state directory of their own."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty state directory, named by RUNNER_STATE_DIR (never the repository's state/)."""
    directory = tmp_path / "state"
    directory.mkdir()
    monkeypatch.setenv("RUNNER_STATE_DIR", str(directory))
    return directory
