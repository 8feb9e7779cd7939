"""The `runner` command line: parse, build, call.

Each subcommand lives in the module that owns its concept and exposes
`register(subparsers)`; the handler it sets returns the exit code. Exit codes: 0 ok,
1 findings (invalid files, failed checks), 2 usage errors. Handlers import their
heavy dependencies lazily so `runner validate` stays fast.

A reader that closes stdout early (`runner status | head -4`) is handled here, once for
every command: the process leaves quietly with exit 1, as the Python documentation
recommends for SIGPIPE (`EXIT_CLOSED_PIPE`), never with a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Final

from runner import __version__

EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_USAGE: Final = 2
EXIT_CLOSED_PIPE: Final = 1

COMMAND_MODULES: Final = (
    "runner.cli.validate",
    "runner.cli.sim_server",
    "runner.cli.health",
    "runner.cli.plan_status",
    "runner.cli.run_simulate",
    "runner.cli.trades",
    "runner.cli.control",
    "runner.cli.paper",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runner",
        description="Declarative options-strategy runner for Coincall.",
    )
    parser.add_argument("--version", action="version", version=f"runner {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # argparse exits 2 on usage errors, 0 on --help
        return int(exit_request.code or 0)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code = int(handler(args))
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_CLOSED_PIPE
    return code


def _silence_stdout() -> None:
    """Point stdout at devnull so the interpreter's final flush cannot fail again."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a replaced stdout (tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)
