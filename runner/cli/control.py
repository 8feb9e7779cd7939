"""`runner pause|resume|flatten|close`: steer the service, running or stopped.

These commands never take the instance lock and never write trade state: they check
the names against the store, append a control request (`runner.store.control_store`)
and say so in one line. The service carries the request out within one tick when it
runs, or at its next start (`runner.service.control`). `flatten` and `close` need `--yes`;
without it they print what would be closed and exit 2. `--wait SECONDS` waits for the
running service to apply the request and prints its outcome.

Exit codes: 0 requested (with --wait: applied), 1 the store could not be written, or
--wait saw the request refused or not applied in time, 2 usage: unknown strategy or
trade (the message names what exists), no store yet, or flatten/close without --yes.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
_WAIT_POLL_SECONDS: Final = 0.2


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, default=None, metavar="ROOT",
                        help="the state root (default RUNNER_STATE_DIR, else state)")
    common.add_argument("--env-file", type=Path, default=Path(".env"),
                        help="dotenv file to read (default .env; missing is fine)")
    common.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="wait up to SECONDS for the running service to apply it")
    confirm = argparse.ArgumentParser(add_help=False)
    confirm.add_argument("--yes", action="store_true",
                         help="confirm (without it: show what would be closed, exit 2)")

    pause = subparsers.add_parser(
        "pause", parents=[common], help="stop new entries (all, or the named strategies)",
        description="No new entries for the named strategies (none named: every strategy);"
                    " exits, closes and working orders go on. Lasts across restarts until"
                    " runner resume.")
    pause.add_argument("strategies", nargs="*", metavar="STRATEGY")
    pause.set_defaults(handler=lambda args: _request(args, "pause", tuple(args.strategies)))

    resume = subparsers.add_parser(
        "resume", parents=[common], help="allow entries again after runner pause",
        description="End the pause of the named strategies (none named: every pause).")
    resume.add_argument("strategies", nargs="*", metavar="STRATEGY")
    resume.set_defaults(handler=lambda args: _request(args, "resume", tuple(args.strategies)))

    flatten = subparsers.add_parser(
        "flatten", parents=[common, confirm],
        help="close the runner's own open trades now, at the most aggressive price",
        description="Close every open trade of the named strategies (default: all) with"
                    " its close execution at its most aggressive phase. Only trades the"
                    " runner opened; positions it did not open are never touched.")
    flatten.add_argument("--strategy", action="append", default=[], metavar="NAME",
                         dest="strategies", help="only this strategy (repeatable)")
    flatten.set_defaults(handler=lambda args: _request(args, "flatten",
                                                       tuple(args.strategies)))

    close = subparsers.add_parser(
        "close", parents=[common, confirm], help="close one open trade now",
        description="Close TRADE_ID with its strategy's close execution.")
    close.add_argument("trade_id", metavar="TRADE_ID")
    close.set_defaults(handler=lambda args: _request(args, "close", (args.trade_id,)))


@dataclass(frozen=True, slots=True)
class Known:
    """What the store knows: strategy names, paused ones, and active trades."""

    strategies: frozenset[str]
    paused: frozenset[str]
    active: tuple[Any, ...]  # Trade


def _fail(action: str, message: str, code: int) -> int:
    print(f"runner {action}: {message}", file=sys.stderr)
    return code


def _request(args: argparse.Namespace, action: str, targets: tuple[str, ...]) -> int:
    from runner.service.settings import ConfigError, load_settings_from_env
    from runner.store.store import default_store_path

    try:
        settings = load_settings_from_env(args.env_file)
    except ConfigError as error:
        return _fail(action, str(error), EXIT_USAGE)
    state_dir = (settings.with_state_root(args.state_dir) if args.state_dir
                 else settings).state_dir
    path = default_store_path(state_dir)
    if not path.is_file():
        return _fail(action, f"no store at {path}: the service has not run in the"
                             f" {settings.environment.value} environment here yet (start it"
                             " with runner run, or name the state root with --state-dir)",
                     EXIT_USAGE)
    if settings.is_production and action in ("flatten", "close"):
        from runner.service.runtime import PRODUCTION_BANNER

        print(PRODUCTION_BANNER, file=sys.stderr, flush=True)
    try:
        return _submit(args, action, targets, path, state_dir)
    except sqlite3.Error as error:
        return _fail(action, f"the store {path} could not be written: {error}", EXIT_FAILED)


def _submit(args: argparse.Namespace, action: str, targets: tuple[str, ...], path: Path,
            state_dir: Path) -> int:
    from runner.domain.clock import SystemClock
    from runner.service.instance_lock import lock_is_held
    from runner.store import control_store

    connection = control_store.open_for_request(path)
    try:
        problem = _check(action, targets, _known(connection), getattr(args, "yes", True))
        if problem is not None:
            return _fail(action, problem, EXIT_USAGE)
        running = lock_is_held(state_dir) is True
        request_id = control_store.submit(connection, action, targets, SystemClock().now(),
                                          f"runner {action} (pid {os.getpid()})")
        print(_requested_line(action, targets, request_id, running))
        if args.wait > 0 and running:
            return _wait(connection, request_id, args.wait)
        return EXIT_OK
    finally:
        connection.close()


def _known(connection: sqlite3.Connection) -> Known:
    from runner.store import control_store, trade_rows

    connection.row_factory = sqlite3.Row
    names = {str(row[0]) for row in connection.execute("SELECT name FROM strategies")}
    names |= {str(row[0]) for row in connection.execute("SELECT DISTINCT strategy FROM trades")}
    active = trade_rows.load_trades_where(connection, trade_rows.active_where(),
                                          trade_rows.active_params())
    connection.row_factory = None
    paused = frozenset(control_store.paused(connection))
    return Known(frozenset(names), paused, tuple(active))


def _check(action: str, targets: tuple[str, ...], known: Known, confirmed: bool) -> str | None:
    """Why the request cannot be made (exit 2), or None."""
    if action == "close":
        return _check_close(targets[0], known, confirmed)
    allowed = known.strategies | (known.paused if action == "resume" else frozenset())
    unknown = sorted(set(targets) - allowed - {"*"})
    if unknown:
        names = ", ".join(sorted(known.strategies)) or "none yet"
        return (f"unknown strategy {', '.join(unknown)}; the strategies this store knows:"
                f" {names}")
    if action == "flatten" and not confirmed:
        chosen = [t for t in known.active if not targets or t.strategy in targets]
        listed = "; ".join(_trade_text(t) for t in chosen) or "no active trade"
        return f"would close: {listed}. Nothing requested: add --yes to close them"
    return None


def _check_close(trade_id: str, known: Known, confirmed: bool) -> str | None:
    match = [t for t in known.active if t.trade_id == trade_id]
    if not match:
        active = ", ".join(t.trade_id for t in known.active) or "none"
        return f"no active trade {trade_id}; the active trades: {active}"
    if not confirmed:
        return (f"would close {_trade_text(match[0])}. Nothing requested: add --yes to"
                " close it")
    return None


def _trade_text(trade: Any) -> str:
    legs = ", ".join(f"{leg.side.value} {leg.open_qty} {leg.symbol}" for leg in trade.legs
                     if leg.open_qty)
    return f"{trade.trade_id} ({trade.strategy}, {trade.stage.value}: {legs or 'nothing held'})"


def _requested_line(action: str, targets: tuple[str, ...], request_id: int,
                    running: bool) -> str:
    what = ", ".join(targets) if targets else "every strategy"
    head = f"runner {action}: requested {action} of {what} (request {request_id});"
    if running:
        return f"{head} the service is running (lock held): applied within one tick"
    tail = " the service is not running: applied at its next start (runner run)"
    if action in ("flatten", "close"):
        tail += ("; nothing is closed until then. To close without starting the service:"
                 " runner trades flatten TRADE_ID")
    return head + tail


def _wait(connection: sqlite3.Connection, request_id: int, seconds: float) -> int:
    from runner.store import control_store

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        request = control_store.request_status(connection, request_id)
        if request is not None and request.status != control_store.PENDING:
            print(f"request {request_id} {request.status}: {request.outcome}")
            return EXIT_OK if request.status == control_store.APPLIED else EXIT_FAILED
        time.sleep(_WAIT_POLL_SECONDS)
    print(f"request {request_id} still pending after {seconds:g} s", file=sys.stderr)
    return EXIT_FAILED
