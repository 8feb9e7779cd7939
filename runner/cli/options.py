"""Options that several commands share, defined once: where the state and the logs are,
and which dotenv file to read.

Every command that reads or writes the runner's state takes `--state-dir` with the same
name, meaning and help text (issue 9 item 6): `run`, `plan`, `status`, `health`,
`pause`, `resume`, `flatten`, `close`, `paper reset` and the `trades` decisions. It
names the state root, the folder that holds one folder per environment, exactly as
`RUNNER_STATE_DIR` does, so a command given the same value as the service reads the
service's store, heartbeat and paper account. `run` also takes `--log-dir`
(`RUNNER_LOG_DIR`). An option given on the command line wins over the environment
variable and the `.env` file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from runner.service.settings import Settings

STATE_DIR_HELP: Final = (
    "the folder holding the runner's state, one subfolder per environment (paper, testnet,"
    " production; default: RUNNER_STATE_DIR, else state); a command about a running"
    " service needs the same one as the service")
LOG_DIR_HELP: Final = "the folder for the log files (default: RUNNER_LOG_DIR, else logs)"
ENV_FILE_HELP: Final = "the settings file to read (default .env; a missing file is fine)"
TRADE_ID_HELP: Final = "the trade's id, as runner status or runner trades list shows it"
FORMAT_HELP: Final = "text for a person, json for a program (default text)"


def add_state_dir(parser: argparse.ArgumentParser) -> None:
    """`--state-dir ROOT`: the state root (RUNNER_STATE_DIR)."""
    parser.add_argument("--state-dir", type=Path, default=None, metavar="ROOT",
                        help=STATE_DIR_HELP)


def add_log_dir(parser: argparse.ArgumentParser) -> None:
    """`--log-dir DIR`: where the service writes its logs (RUNNER_LOG_DIR)."""
    parser.add_argument("--log-dir", type=Path, default=None, metavar="DIR",
                        help=LOG_DIR_HELP)


def add_env_file(parser: argparse.ArgumentParser) -> None:
    """`--env-file FILE`: the dotenv file completing the environment."""
    parser.add_argument("--env-file", type=Path, default=Path(".env"), metavar="FILE",
                        help=ENV_FILE_HELP)


def add_format(parser: argparse.ArgumentParser) -> None:
    """`--format text|json`: for a person, or for a program."""
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help=FORMAT_HELP)


def located(settings: Settings, args: argparse.Namespace) -> Settings:
    """`settings` with the state root and log folder the command line names, if any."""
    return settings.located(getattr(args, "state_dir", None), getattr(args, "log_dir", None))
