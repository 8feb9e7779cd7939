"""Fixtures of the plan/status command tests: a state directory of their own."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The paper environment's empty state directory, under the root RUNNER_STATE_DIR
    names (never the repository's state/); one directory per environment (issue 7)."""
    root = tmp_path / "state"
    directory = root / "paper"
    directory.mkdir(parents=True)
    monkeypatch.setenv("RUNNER_STATE_DIR", str(root))
    return directory
