"""`runner paper reset`: start the paper account over, keeping the old one aside.

The paper account (cash, positions, margin) and the paper trades survive restarts; to
start again from a new account a trader resets them. Without `--yes` the command only
says what it would move and exits 2; with `--yes` it moves the files into
`<state root>/paper/reset-<UTC>/` (never deleted) and exits 0. While a paper service
runs on the state directory it refuses (exit 1) and names the service's pid: the
instance lock is held for the whole move, so a service cannot start half-way either.
Only the paper environment is ever touched, whatever TRADING_ENVIRONMENT says.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from runner.cli.options import add_env_file, add_state_dir

if TYPE_CHECKING:
    from runner.cli.paper_account import PaperReset
    from runner.domain.clock import Clock

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_USAGE: Final = 2


def register(subparsers: Any) -> None:
    paper = subparsers.add_parser(
        "paper", help="the paper account: reset it to start over",
        description="Manage the paper account that `runner run` trades in paper mode.")
    actions = paper.add_subparsers(dest="paper_action", metavar="ACTION", required=True)
    reset = actions.add_parser(
        "reset", help="start over with a new paper account (the old one is kept aside)",
        description="Move the saved paper account (cash, positions, margin) and the paper "
                    "trades aside into a reset-<time> folder of the paper state directory; "
                    "the next `runner run` starts a new account with 100,000 USD and no "
                    "trades. Nothing is deleted. Refused while the paper service runs.")
    reset.add_argument("--yes", action="store_true",
                       help="do it (without --yes: only say what would be moved, exit 2)")
    add_state_dir(reset)
    add_env_file(reset)
    reset.set_defaults(handler=run_reset)


def _say(text: str) -> None:
    print(f"runner paper reset: {text}", file=sys.stderr)


def run_reset(args: argparse.Namespace) -> int:
    """0 reset (or nothing to reset), 1 refused, 2 without --yes or on bad settings."""
    from runner.cli.paper_account import plan_reset
    from runner.domain.clock import SystemClock
    from runner.service.settings import (
        ConfigError,
        Environment,
        environ_with_dotenv,
        environment_state_dir,
        state_root,
    )

    try:
        root = args.state_dir or state_root(environ_with_dotenv(args.env_file))
    except ConfigError as error:
        _say(str(error))
        return EXIT_USAGE
    state_dir = environment_state_dir(root, Environment.PAPER)
    clock = SystemClock()
    reset = plan_reset(state_dir, clock.now())
    if reset.empty:
        print(f"nothing to reset: no paper account or paper trades in {state_dir}; the next "
              "`runner run` starts a new paper account")
        return EXIT_OK
    refusal = _service_running(state_dir)
    if refusal:
        _say(refusal)
        return EXIT_REFUSED
    if not args.yes:
        _show(reset, clock)
        print("nothing was changed; to do it: runner paper reset --yes")
        return EXIT_USAGE
    return _reset_holding_the_lock(reset, clock)


def _service_running(state_dir: Path) -> str | None:
    from runner.service.instance_lock import lock_is_held, lock_path, read_holder_pid

    if lock_is_held(state_dir) is not True:
        return None
    pid = read_holder_pid(lock_path(state_dir))
    return (f"the paper service is running with {state_dir} (pid {pid}); stop it first "
            "(Ctrl+C in its window, or stop the Windows service), then reset")


def _reset_holding_the_lock(reset: PaperReset, clock: Clock) -> int:
    from runner.cli.paper_account import carry_out
    from runner.service.instance_lock import InstanceLock, LockHeld

    lock = InstanceLock.for_state_dir(reset.state_dir)
    try:
        lock.acquire()
    except LockHeld as held:
        _say(str(held))
        return EXIT_REFUSED
    except OSError as error:
        _say(f"the paper state directory {reset.state_dir} cannot be written: {error}")
        return EXIT_REFUSED
    try:
        lines = _lines(reset, clock)  # described before the move, from the files in place
        carry_out(reset)
    except OSError as error:
        _say(f"could not move the paper state aside ({error}); what was moved is in "
             f"{reset.archive}, the rest is still in {reset.state_dir}")
        return EXIT_REFUSED
    finally:
        lock.release()
    print(f"moved aside into {reset.archive} (nothing deleted):")
    print("\n".join(lines))
    print(_next_start())
    return EXIT_OK


def _show(reset: PaperReset, clock: Clock) -> None:
    print(f"runner paper reset would move these files of {reset.state_dir} into "
          f"{reset.archive} (nothing is deleted):")
    print("\n".join(_lines(reset, clock)))
    print(_next_start())


def _lines(reset: PaperReset, clock: Clock) -> list[str]:
    from runner.cli.paper_account import describe_files

    return [f"  {line}" for line in describe_files(reset, clock)]


def _next_start() -> str:
    from runner.cli.paper_account import new_account_line

    return (f"the next `runner run` in paper mode starts {new_account_line()}, no positions"
            " and no trades")
