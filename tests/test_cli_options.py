"""`--state-dir` on every command that reads or writes state, one definition (issue 9
item 6: `runner run` had none, and each command worded it its own way)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from runner.cli.app import build_parser
from runner.cli.options import LOG_DIR_HELP, STATE_DIR_HELP, located
from runner.service.settings import load_settings

STATEFUL = ("run", "plan", "status", "health", "pause", "resume", "flatten", "close",
            "trades list", "trades adopt", "trades close-externally", "trades flatten",
            "trades external", "paper reset")


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in command.split():
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return next((a for a in parser._actions if flag in a.option_strings), None)


@pytest.mark.parametrize("command", STATEFUL)
def test_every_command_that_touches_state_takes_the_same_state_dir_option(command: str) -> None:
    option = _option(_subparser(command), "--state-dir")
    assert option is not None, f"runner {command} has no --state-dir"
    assert option.help == STATE_DIR_HELP
    assert option.metavar == "ROOT"


def test_run_also_takes_the_log_folder() -> None:
    option = _option(_subparser("run"), "--log-dir")
    assert option is not None
    assert option.help == LOG_DIR_HELP


def test_the_command_line_wins_over_the_environment_variables(tmp_path: Path) -> None:
    settings = load_settings({"RUNNER_STATE_DIR": "elsewhere", "RUNNER_LOG_DIR": "oldlogs"})
    args = argparse.Namespace(state_dir=tmp_path / "st", log_dir=tmp_path / "lg")
    moved = located(settings, args)
    assert moved.state_dir == tmp_path / "st" / "paper"
    assert moved.log_dir == tmp_path / "lg"


def test_without_the_options_the_environment_decides() -> None:
    settings = load_settings({"RUNNER_STATE_DIR": "elsewhere", "RUNNER_LOG_DIR": "oldlogs"})
    kept = located(settings, argparse.Namespace(state_dir=None, log_dir=None))
    assert kept.state_dir == Path("elsewhere") / "paper"
    assert kept.log_dir == Path("oldlogs")
