"""`runner trades`: the operator's decisions on trades the runner and the exchange disagree on.

`list` shows the active trades and what needs a decision (read-only); `adopt`,
`close-externally` and `flatten` carry a decision out (lessons A9, H6: adopt, mark
closed externally or flatten; never "delete memory"). The logic lives in
`runner.cli.operator` and `runner.reconcile.decisions`; this module parses, guards and prints.

Every action refuses while the service runs (fresh heartbeat: the store has one
writer), takes its environment from .env / the environment like `runner run`, prints a
loud banner in production, where writes also need --yes. Exit codes: 0 done (list:
nothing needs a decision), 1 refused or failed with the reason (list: something needs a
decision), 2 usage. Heavy imports happen in the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, default=None, metavar="ROOT",
                        help="the state root (default RUNNER_STATE_DIR, else state); the"
                             " store used is <ROOT>/<environment> of TRADING_ENVIRONMENT")
    common.add_argument("--env-file", type=Path, default=Path(".env"),
                        help="dotenv file to read (default .env; missing is fine)")
    confirm = argparse.ArgumentParser(add_help=False)
    confirm.add_argument("--yes", action="store_true",
                         help="confirm a write in production (required there)")

    trades = subparsers.add_parser(
        "trades", help="list trades needing a decision; adopt, close externally, flatten",
        description="Operator decisions on trades, with the service stopped. A discrepancy "
                    "between the store and the exchange is resolved by adopting, marking "
                    "closed externally or flattening; never by deleting the store.")
    actions = trades.add_subparsers(dest="trades_action", metavar="ACTION")
    trades.set_defaults(handler=lambda _args: _usage(trades))

    listing = actions.add_parser(
        "list", parents=[common], help="active trades and what needs a decision (read-only)",
        description="Compare the store with the exchange without changing either. Exit 1 "
                    "when something needs a decision, 0 otherwise.")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.set_defaults(handler=run_list)

    close = actions.add_parser(
        "close-externally", parents=[common, confirm],
        help="mark a trade closed by hand outside the runner",
        description="Mark TRADE_ID CLOSED with reason closed_externally (its working orders "
                    "are cancelled). Refused while the exchange still shows its positions.")
    close.add_argument("trade_id", metavar="TRADE_ID")
    close.add_argument("--note", default="closed outside the runner",
                       help="why, recorded with the transition")
    close.add_argument("--force", action="store_true",
                       help="even though the exchange still shows the positions")
    close.set_defaults(handler=run_close_externally)

    flat = actions.add_parser(
        "flatten", parents=[common, confirm],
        help="close what a trade holds with reduce-only orders",
        description="Place reduce-only orders at the touch for what TRADE_ID still holds, "
                    "follow them, and requote up to --rounds times.")
    flat.add_argument("trade_id", metavar="TRADE_ID")
    flat.add_argument("--rounds", type=int, default=5, help="placement rounds (default 5)")
    flat.add_argument("--requote-after", type=float, default=10.0, metavar="SECONDS",
                      help="wait for fills before requoting (default 10)")
    flat.set_defaults(handler=run_flatten)

    adopt = actions.add_parser(
        "adopt", parents=[common, confirm],
        help="track exchange positions the store does not know as trades",
        description="Adopt positions the runner did not open (all, or the named symbols) as "
                    "OPEN trades, so a strategy's exits can manage them or flatten close them.")
    adopt.add_argument("symbols", nargs="*", metavar="SYMBOL")
    adopt.add_argument("--strategy", default="adopted",
                       help="strategy the trades belong to (default: adopted)")
    adopt.set_defaults(handler=run_adopt)

    external = actions.add_parser(
        "external", parents=[common, confirm],
        help="declare exchange positions someone else's (the runner leaves them alone)",
        description="Record the quantity of each SYMBOL the exchange shows beyond what the "
                    "store's trades hold as not the runner's: it no longer blocks entries. "
                    "--clear forgets the declaration. Nothing is sent to the exchange.")
    external.add_argument("symbols", nargs="+", metavar="SYMBOL")
    external.add_argument("--clear", action="store_true", help="forget the declaration")
    external.set_defaults(handler=run_external)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _fail(action: str, message: str, code: int = EXIT_FAILED) -> int:
    print(f"runner trades {action}: {message}", file=sys.stderr)
    return code


# -- handlers ------------------------------------------------------------------------------------
def run_list(args: argparse.Namespace) -> int:
    """Print trades and decisions needed; 0 nothing needed, 1 something needed or failed."""
    def action(session: Any) -> int:
        from runner.cli.operator import read_trades_view

        view = read_trades_view(session.store, session.exchange, session.clock.now())
        if args.format == "json":
            print(json.dumps(view_json(view, session), indent=2))
        else:
            print("\n".join(view_lines(view, session)))
        return EXIT_FAILED if view.needs_decision else EXIT_OK

    return _run(args, "list", action, writes=False)


def run_close_externally(args: argparse.Namespace) -> int:
    def action(session: Any) -> Any:
        from runner.cli.operator import close_externally

        return close_externally(session, args.trade_id, args.note, force=args.force)

    return _run(args, "close-externally", action, writes=True, trade_id=args.trade_id,
                note=args.note, force=args.force)


def run_flatten(args: argparse.Namespace) -> int:
    if args.rounds < 1 or args.requote_after < 0:
        return _fail("flatten", "--rounds must be at least 1 and --requote-after 0 or more",
                     EXIT_USAGE)

    def action(session: Any) -> Any:
        from datetime import timedelta

        from runner.cli.operator import flatten_trade_now
        from runner.reconcile.decisions import FlattenLimits

        wait = timedelta(seconds=args.requote_after)
        limits = FlattenLimits(rounds=args.rounds, requote_after=wait,
                               poll_every=min(wait, timedelta(seconds=1)))
        return flatten_trade_now(session, args.trade_id, limits)

    return _run(args, "flatten", action, writes=True, trade_id=args.trade_id,
                rounds=args.rounds)


def run_adopt(args: argparse.Namespace) -> int:
    def action(session: Any) -> Any:
        from runner.cli.operator import adopt

        return adopt(session, args.symbols, args.strategy)

    return _run(args, "adopt", action, writes=True, create_store=True, symbols=args.symbols,
                strategy=args.strategy)


def run_external(args: argparse.Namespace) -> int:
    def action(session: Any) -> int:
        from runner.reconcile.external import declare_external

        for line in declare_external(session.store, session.exchange, args.symbols,
                                     session.clock.now(), clear=args.clear):
            print(line)
        return EXIT_OK

    return _run(args, "external", action, writes=True, create_store=True, symbols=args.symbols,
                clear=args.clear)


# -- the common frame ----------------------------------------------------------------------------
def _run(args: argparse.Namespace, name: str, action: Callable[[Any], Any], *, writes: bool,
         create_store: bool = False, **detail: Any) -> int:
    """Settings, banner, guards, session; then the action, audited; the exit code."""
    from runner.cli.operator import service_running, write_refusal
    from runner.domain.clock import SystemClock
    from runner.service.settings import ConfigError, load_settings_from_env

    try:
        settings = load_settings_from_env(args.env_file)
    except ConfigError as error:
        return _fail(name, str(error), EXIT_USAGE)
    if settings.is_production:
        from runner.service.runtime import PRODUCTION_BANNER

        print(PRODUCTION_BANNER, file=sys.stderr, flush=True)
    state_dir = (settings.with_state_root(args.state_dir) if args.state_dir
                 else settings).state_dir
    clock = SystemClock()
    refusal = service_running(state_dir, clock.now()) or (
        write_refusal(settings, args.yes) if writes else None)
    if refusal is not None:
        return _fail(name, refusal)
    with ExitStack() as held:
        if writes:  # a service started meanwhile is refused until this decision is done
            refusal = _hold_state_lock(state_dir, held)
            if refusal is not None:
                return _fail(name, refusal)
        return _in_session(settings, state_dir, clock, name, action, detail, writes=writes,
                           create_store=create_store)


def _in_session(settings: Any, state_dir: Path, clock: Any, name: str,
                action: Callable[[Any], Any], detail: dict[str, Any], *, writes: bool,
                create_store: bool) -> int:
    from runner.cli.operator import Refused, open_session

    try:
        session = open_session(settings, state_dir, clock, read_only=not writes,
                               create_store=create_store)
    except Refused as error:
        return _fail(name, str(error))
    try:
        for note in session.notes:
            print(note, file=sys.stderr)
        return _act(session, name, action, detail)
    finally:
        session.close()


def _hold_state_lock(state_dir: Path, held: ExitStack) -> str | None:
    """Take the state directory's instance lock for the whole write (the store has one
    writer at a time: this command or the service); why not, or None when taken."""
    from runner.service.instance_lock import InstanceLock, LockHeld

    lock = InstanceLock.for_state_dir(state_dir)
    try:
        lock.acquire(patience=0)
    except LockHeld as busy:
        return str(busy)
    except OSError as error:
        return f"the state directory {state_dir} is not writable: {error}"
    held.callback(lock.release)
    return None


def _act(session: Any, name: str, action: Callable[[Any], Any], detail: dict[str, Any]) -> int:
    from runner.cli.operator import Refused, audit_command
    from runner.exchange.errors import ExchangeError

    try:
        result = action(session)
    except Refused as error:
        audit_command(session, name, "refused", reason=str(error), **detail)
        return _fail(name, str(error))
    except ExchangeError as error:
        audit_command(session, name, "failed", error=str(error), **detail)
        return _fail(name, f"the exchange failed ({error}); a failed read is not an empty"
                           " account: nothing was assumed")
    if isinstance(result, int):
        return result
    for line in result.lines:
        print(line)
    audit_command(session, name, "done" if result.ok else "incomplete", **detail)
    return EXIT_OK if result.ok else EXIT_FAILED


# -- rendering -----------------------------------------------------------------------------------
def view_lines(view: Any, session: Any) -> list[str]:
    """The list, as text: trades, then each decision with the commands that make it."""
    plan = view.plan
    store = "none yet" if session.store is None else str(session.store.path)
    lines = [f"runner trades list: {session.settings.environment.value}, store {store},"
             f" at {view.at:%Y-%m-%d %H:%M:%S} UTC",
             f"active trades: {len(view.trades)}"]
    lines += [f"  {_trade_text(trade)}" for trade in view.trades]
    decisions = _decision_lines(view)
    lines.append(f"decisions needed: {len(decisions)}" if decisions
                 else "decisions needed: none")
    lines += decisions
    lines += [f"note: orphan order {o.order.order_id} of {o.trade_id} ({o.why}) is cancelled"
              " at the next start" for o in plan.orphans]
    lines += [f"note: order {o.order_id} on {o.symbol} was not placed by this runner; left"
              " alone" for o in plan.foreign_orders]
    lines += [f"note: trade {t} expired and is settled at the next start"
              for t in (*plan.expired_trades, *plan.awaiting_settlement)]
    return lines


def _decision_lines(view: Any) -> list[str]:
    plan = view.plan
    lines = []
    for item in plan.discrepancies:
        ids = " | ".join(item.trade_ids)
        lines += [f"  {item.line()}",
                  f"    keep tracking: nothing to do; closed by hand: runner trades"
                  f" close-externally {ids}; close it now: runner trades flatten {ids}"]
    for position in plan.foreign_positions:
        lines += [f"  FOREIGN POSITION: {position.symbol} {position.qty} @ {position.avg_price}"
                  " is not tracked by this runner",
                  f"    track it: runner trades adopt {position.symbol} [--strategy NAME];"
                  " then close it: runner trades flatten <adopted trade id>; or leave it alone"]
    for symbol, qty in plan.surplus_positions:
        lines += [f"  SURPLUS: the exchange shows {qty} more {symbol} than the runner holds",
                  f"    track it: runner trades adopt {symbol}; or leave it alone"]
    for trade in view.unworked:
        lines += [f"  NOT WORKED: trade {trade.trade_id} is {trade.stage.value} with no"
                  " execution in flight",
                  f"    close it: runner trades flatten {trade.trade_id}; closed by hand:"
                  f" runner trades close-externally {trade.trade_id}"]
    return lines


def _trade_text(trade: Any) -> str:
    legs = "; ".join(f"{leg.side.value} {leg.qty} {leg.symbol} (held {leg.open_qty}"
                     f"{f' @ {leg.entry_price}' if leg.entry_price is not None else ''})"
                     for leg in trade.legs)
    reason = trade.transitions[-1].reason if trade.transitions else ""
    return f"{trade.trade_id} [{trade.strategy}] {trade.stage.value} ({reason}): {legs}"


def view_json(view: Any, session: Any) -> dict[str, Any]:
    plan = view.plan
    return {
        "environment": session.settings.environment.value,
        "store": None if session.store is None else str(session.store.path),
        "at": view.at.isoformat(),
        "needs_decision": view.needs_decision,
        "active_trades": [{"trade_id": t.trade_id, "strategy": t.strategy,
                           "stage": t.stage.value,
                           "legs": [{"symbol": leg.symbol, "side": leg.side.value,
                                     "qty": str(leg.qty), "open_qty": str(leg.open_qty)}
                                    for leg in t.legs]} for t in view.trades],
        "discrepancies": [{"symbol": d.symbol, "expected": str(d.expected),
                           "found": str(d.found), "trade_ids": list(d.trade_ids)}
                          for d in plan.discrepancies],
        "foreign_positions": [{"symbol": p.symbol, "qty": str(p.qty),
                               "avg_price": str(p.avg_price)} for p in plan.foreign_positions],
        "surplus_positions": [{"symbol": s, "qty": str(q)} for s, q in plan.surplus_positions],
        "not_worked": [t.trade_id for t in view.unworked],
        "orphan_orders": [o.order.order_id for o in plan.orphans],
        "foreign_orders": [o.order_id for o in plan.foreign_orders],
        "expired": [*plan.expired_trades, *plan.awaiting_settlement],
    }
