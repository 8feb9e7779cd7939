"""The suite runs the same whatever a trader adds to `strategies.d/` (issue 9 item 8).

Before: adding a strategy broke it (`assert '3 files checked' in '4 files checked'`),
because tests globbed the user's folder. Now the tests name the shipped files
(`tests/shipped.py`) or work on their own copy. The proof: a copy of the project whose
`strategies.d/` holds one more valid strategy, on which the tests that read the shipped
strategies run and pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shipped import REPO
from tests.strategy.helpers_spec import MINIMAL

# The tests that read the shipped strategies (the real-process `runner run` test is left
# out for time: its fixture copies the shipped files by name, see `copy_shipped`).
AFFECTED = (
    "tests/strategy/test_shipped_strategies.py",
    "tests/strategy/test_spec_copies.py",
    "tests/strategy/test_file_set.py",
    "tests/strategy/test_corpus_cli.py",
    "tests/ops_cli/test_plan_command.py",
)
EXTRA = "zz_trader_added.yaml"


def _project_copy(target: Path) -> Path:
    for name in ("runner", "tests", "schemas", "docs", "strategies.d"):
        shutil.copytree(REPO / name, target / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    return target


def _extra_strategy() -> str:
    """Valid, with a warning (no daily limit): what a trader may well add."""
    return MINIMAL.replace("name: sample", "name: trader_added_strangle").replace(
        "exits:", "timing:\n  max_trades_per_day: unlimited\nexits:")


@pytest.mark.slow
def test_the_tests_of_the_shipped_strategies_pass_with_a_strategy_added_by_the_trader(
        tmp_path: Path) -> None:
    project = _project_copy(tmp_path / "project")
    (project / "strategies.d" / EXTRA).write_text(_extra_strategy(), encoding="utf-8")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TRADING_", "COINCALL_", "RUNNER_"))}
    env["PYTHONPATH"] = str(project)
    validated = subprocess.run(
        [sys.executable, "-m", "runner", "validate"], cwd=project, env=env,
        capture_output=True, text=True, timeout=120, check=False)
    assert validated.returncode == 0, validated.stdout  # valid, with one warning
    assert "4 files checked: 4 valid, 0 invalid (0 errors, 1 warning)" in validated.stdout
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-m", "not slow", *AFFECTED],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
