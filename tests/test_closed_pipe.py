"""Safe to pipe (issue 9 item 2): `runner status | head -4` must not end in a traceback.

Every command that prints runs as the real process with a stdout whose reader is gone
(the pipe's read end is closed before the process writes), so every write meets a closed
pipe. The process must leave quietly: no traceback, no "Exception ignored" on stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli.app import EXIT_CLOSED_PIPE
from tests.ops_cli.helpers_ops_cli import AT, populate_store

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ("micro_strangle.yaml", "rfq_endurance.yaml", "profiles.yaml")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped strategies and a populated store, outside the checkout."""
    root = tmp_path_factory.mktemp("pipe")
    (root / "strategies.d").mkdir()
    for name in SHIPPED:
        shutil.copy(REPO / "strategies.d" / name, root / "strategies.d" / name)
    populate_store(root / "state")
    return root


COMMANDS = {
    "validate": ["validate"],
    "plan": ["plan", "strategies.d/micro_strangle.yaml", "--at", AT],
    "status": ["status", "--state-dir", "state", "--at", AT],
    "trades list": ["trades", "list", "--state-dir", "state"],
    "health": ["health", "--state-dir", "state"],
    "paper reset": ["paper", "reset", "--state-dir", "state"],
    "schema": ["schema"],
    "docs": ["docs"],
    "simulate": ["simulate", "strategies.d/micro_strangle.yaml", "--duration", "1m",
                 "--start", AT],
}


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TRADING_", "COINCALL_", "RUNNER_"))}
    env["PYTHONPATH"] = str(REPO)
    return env


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_a_command_whose_reader_closed_the_pipe_leaves_without_a_traceback(
        command: str, workdir: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (e.g. `head`) is gone before anything is written
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "runner", *COMMANDS[command]], cwd=workdir,
            env=_environment(), stdout=write_end, stderr=subprocess.PIPE, text=True,
            timeout=120, check=False)
    finally:
        os.close(write_end)
    assert "Traceback" not in completed.stderr, completed.stderr
    assert "BrokenPipeError" not in completed.stderr, completed.stderr
    assert "Exception ignored" not in completed.stderr, completed.stderr
    assert completed.returncode == EXIT_CLOSED_PIPE, completed.stderr
