"""`runner plan` and `runner status`: look before trading, look while trading.

Both commands only read: `plan` reads the market of the configured environment through a
read-only view of the exchange port and never trades; `status` reads the store through a
read-only SQLite connection. Exit codes: plan 0 when the strategy resolves, 1 when it is
invalid or a leg cannot resolve, 2 usage; status 0, or 1 when the store is missing or
unreadable. Heavy imports happen in the handlers so building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_USAGE: Final = 2


def register(subparsers: Any) -> None:
    plan = subparsers.add_parser(
        "plan", help="show what a strategy would trade now, without trading",
        description="Resolve one strategy against the current market of the configured "
                    "environment (read-only) and print what it would trade now.")
    plan.add_argument("file", type=Path, metavar="FILE", help="the strategy file")
    plan.add_argument("--at", default=None, metavar="ISO-UTC",
                      help="paper only: the simulated moment (default now)")
    plan.add_argument("--seed", type=int, default=0, help="paper venue seed (default 0)")
    plan.add_argument("--env-file", type=Path, default=Path(".env"),
                      help="dotenv file to read (default .env; missing is fine)")
    plan.add_argument("--state-dir", type=Path, default=None, metavar="ROOT",
                      help="state root whose <ROOT>/<environment> store gives the strategy's"
                           " trades for the gates (default RUNNER_STATE_DIR, else state)")
    plan.add_argument("--days", type=int, default=None, metavar="N",
                      help="print the expiry each rule would choose on each of the next N days")
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.set_defaults(handler=run_plan)

    status = subparsers.add_parser(
        "status", help="show strategies, trades, orders and the heartbeat (read-only)",
        description="Read the store without writing to it and print what the runner holds.")
    status.add_argument("--state-dir", type=Path, default=None, metavar="ROOT",
                        help="the state root (default RUNNER_STATE_DIR, else state); the store"
                             " read is <ROOT>/<environment> of TRADING_ENVIRONMENT")
    status.add_argument("--strategies", nargs="*", type=Path, default=(), metavar="FILE",
                        help="strategy files, to show the next entry window of each schedule")
    status.add_argument("--recent", type=int, default=10, help="closed trades to show")
    status.add_argument("--at", default=None, metavar="ISO-UTC",
                        help="report as of this moment (today's counts, ages; default now)")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(handler=run_status)


def _fail(command: str, message: str, code: int) -> int:
    print(f"runner {command}: {message}", file=sys.stderr)
    return code


def _parse_at(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"--at {text!r} has no time zone; write it in UTC, e.g. "
                         "2026-03-02T10:00:00Z")
    return moment.astimezone(UTC)


def run_plan(args: argparse.Namespace) -> int:
    """Print the plan; 0 resolved, 1 invalid or unresolvable, 2 usage."""
    from runner.service.settings import ConfigError, load_settings_from_env

    if not args.file.is_file():
        return _fail("plan", f"{args.file}: no such file", EXIT_USAGE)
    try:
        at = _parse_at(args.at) if args.at else None
        settings = load_settings_from_env(args.env_file)
    except (ValueError, ConfigError) as error:
        return _fail("plan", str(error), EXIT_USAGE)
    if args.days is not None and not 1 <= args.days <= 400:
        return _fail("plan", "--days must be between 1 and 400", EXIT_USAGE)
    if at is not None and not settings.is_paper:
        return _fail("plan", "--at only applies to paper (a simulated market); "
                             f"{settings.environment.value} is planned at the current time",
                     EXIT_USAGE)
    spec = _load_named(args.file)
    if spec is None:
        return EXIT_FINDINGS
    return _plan_spec(args, settings, spec, at)


def _load_named(path: Path) -> Any:
    """The strategy in `path`, loaded with the profiles beside it; None when invalid."""
    from runner.strategy.fileset import gather, load_file_set

    result = load_file_set(gather([path]))
    for diagnostic in result.diagnostics:
        if diagnostic.file == path:
            print(diagnostic.render(), file=sys.stderr)
    spec = next((s for s in result.specs if s.source == path), None)
    if path in result.failed_files:
        print(f"runner plan: {path} is not a valid strategy (see above)", file=sys.stderr)
        return None
    if spec is None:
        print(f"runner plan: {path} defines no strategy (a profiles file?)", file=sys.stderr)
    return spec


def _plan_spec(args: argparse.Namespace, settings: Any, spec: Any, at: datetime | None) -> int:
    from runner.cli.plan_report import DEFAULT_CALENDAR_DAYS, make_plan
    from runner.cli.render import render_plan
    from runner.cli.status_report import strategy_trades
    from runner.domain.clock import ManualClock, SystemClock
    from runner.exchange.errors import ExchangeError
    from runner.store.store import default_store_path

    clock = (ManualClock(at or datetime.now(UTC).replace(microsecond=0)) if settings.is_paper
             else SystemClock())
    state_dir = (settings.with_state_root(args.state_dir) if args.state_dir
                 else settings).state_dir
    history = strategy_trades(state_dir, spec.name)
    exchange = _venue(settings, clock, args.seed)
    try:
        plan = make_plan(spec, exchange, clock.now(), environment=settings.environment.value,
                         seed=args.seed if settings.is_paper else None, history=history,
                         history_source=str(default_store_path(state_dir)) if history is not None
                         else None, calendar_days=args.days or DEFAULT_CALENDAR_DAYS,
                         listing=_paper_listing(exchange) if settings.is_paper else None)
    except ExchangeError as error:
        return _fail("plan", f"the exchange could not be read: {error}", EXIT_FINDINGS)
    finally:
        getattr(exchange, "close", lambda: None)()  # the REST client's HTTP session
    if args.format == "json":
        print(json.dumps(plan.data, indent=2))
    else:
        print(render_plan(plan.data, full_calendar=args.days is not None))
    return EXIT_OK if plan.resolved else EXIT_FINDINGS


def _paper_listing(venue: Any) -> Any:
    """The simulated venue's listing calendar: exactly what paper will list (not a forecast)."""
    from runner.sim.listing import listed_expiries

    return lambda moment: listed_expiries(moment, venue.config)


def _venue(settings: Any, clock: Any, seed: int) -> Any:
    """Paper: the simulated venue at the clock's moment; otherwise the REST client."""
    from runner.service.venues import open_venue

    return open_venue(settings, clock, seed=seed).exchange


def run_status(args: argparse.Namespace) -> int:
    """Print the store's view; 0, or 1 when the store is missing or unreadable."""
    from runner.cli.render import render_status
    from runner.cli.status_report import StatusUnavailable, read_status

    if args.recent < 0:
        return _fail("status", "--recent must be 0 or more", EXIT_USAGE)
    try:
        now = _parse_at(args.at) if args.at else datetime.now(UTC)
    except ValueError as error:
        return _fail("status", str(error), EXIT_USAGE)
    specs = _load_specs(list(args.strategies))
    if specs is None:
        return EXIT_USAGE
    from runner.service.settings import ConfigError, environ_with_dotenv, state_location
    from runner.store.layout import legacy_hint

    try:
        _, state_dir = state_location(environ_with_dotenv(), args.state_dir)
    except ConfigError as error:
        return _fail("status", str(error), EXIT_USAGE)
    try:
        report = read_status(state_dir, now, specs=specs, recent=args.recent)
    except StatusUnavailable as error:
        hint = legacy_hint(state_dir.parent)
        return _fail("status", f"{error}{'; ' + hint if hint else ''}", EXIT_FINDINGS)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(render_status(report))
    return EXIT_OK


def _load_specs(files: list[Path]) -> list[Any] | None:
    if not files:
        return []
    missing = [path for path in files if not path.is_file()]
    for path in missing:
        print(f"runner status: {path}: no such file", file=sys.stderr)
    if missing:
        return None
    from runner.strategy.fileset import gather, load_file_set

    result = load_file_set(gather(files))
    for path in result.failed_files:
        print(f"runner status: {path} is not valid (runner validate {path}); skipped",
              file=sys.stderr)
    return list(result.specs)
