"""Operator decisions on trades, outside the service: list, adopt, close externally, flatten.

Owns what `runner trades ...` and `runner run --adopt/--flatten` need around the tested
decision functions of `reconcile.decisions`: opening the store and the exchange of the
configured environment for one command, the guards, a read-only view of what needs a
decision, and each decision carried out and audited (lessons A9, H6).

Invariants:
- The store has one writer. A command refuses while the service's heartbeat in the
  state directory is fresh (lessons H1): stop the service first.
- Production writes need an explicit confirmation (`yes`), checked before the exchange
  or the store is touched.
- `list` writes nothing anywhere: the store is opened read-only and the exchange through
  `ReadOnlyExchange`; fills made while the runner was down are credited in memory only.
  A failed exchange read is an error, never an empty account (lessons C5).
- A write command first reconciles, exactly as the service does at start, so it decides
  on exchange truth (fills credited, orphans cancelled, expiries settled), then acts.
  Every command leaves an `operator` line in the audit log; the decisions add their own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from runner.dispatch import Dispatcher
from runner.domain.clock import Clock
from runner.domain.ledger import (
    LedgerOrder,
    LedgerStatus,
    RfqLedgerState,
    credit_executions,
    executions_from_orders,
    executions_from_rfq,
)
from runner.domain.orders import Order
from runner.domain.trades import ZERO, Trade, TradeStage
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange
from runner.reconcile.compare import ReconcilePlan, plan_reconciliation
from runner.reconcile.decisions import (
    ADOPTED_STRATEGY,
    FlattenLimits,
    adopt_positions,
    flatten,
    mark_closed_externally,
    signed_holdings,
)
from runner.reconcile.external import without_external
from runner.reconcile.start_decision import adopted_line, nothing_to_reduce
from runner.reconcile.startup import reconcile
from runner.service.heartbeat import check_heartbeat
from runner.service.instance_lock import lock_is_held, lock_path, read_holder_pid
from runner.service.settings import Settings
from runner.service.venues import PaperAccount, PaperAccountUnreadable, open_venue
from runner.store.store import Store, StoreUnreadable, default_store_path

_CHANGES: Final = ("reconcile: credited", "reconcile: cancelled", "reconcile: settled")


class Refused(Exception):
    """The command must not act now; the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command did: success, and lines a person can read."""

    ok: bool
    lines: tuple[str, ...]


# -- guards ------------------------------------------------------------------------------------
def service_running(state_dir: Path, now: datetime) -> str | None:
    """Why a command must not run now, or None.

    The service holds the state directory's instance lock for its whole life: held means
    running (even while it starts up or hangs), free means gone, whatever the heartbeat
    says. Only without a lock file (an older runner) is a fresh heartbeat the evidence.
    """
    held = lock_is_held(state_dir)
    if held is False:
        return None
    verdict = check_heartbeat(state_dir, now)
    if held is None and not verdict.ok:
        return None
    if held:
        pid = read_holder_pid(lock_path(state_dir))
        verdict = verdict._replace(text=f"pid {pid} holds its lock; {verdict.text}")
    return (f"the service is running with the state directory {state_dir} ({verdict.text});"
            " stop it first (NSSM: nssm stop <service>; systemd: systemctl stop <unit>):"
            " the store has one writer, the service")


def write_refusal(settings: Settings, yes: bool) -> str | None:
    """Production writes need --yes; None when the command may act."""
    if settings.is_production and not yes:
        return ("production: this acts on real money and the real store; nothing was done."
                " Add --yes to confirm")
    return None


# -- the session -------------------------------------------------------------------------------
@dataclass
class Session:
    """The store, the exchange and the clock one command works with."""

    settings: Settings
    state_dir: Path
    clock: Clock
    exchange: Exchange
    store: Store | None
    read_only: bool = False
    notes: tuple[str, ...] = ()
    closers: ExitStack = field(default_factory=ExitStack)

    @property
    def writable_store(self) -> Store:
        if self.store is None:
            raise Refused(f"no store at {default_store_path(self.state_dir)}")
        return self.store

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.exchange, self.writable_store, self.clock)

    def close(self) -> None:
        self.closers.close()


def open_exchange(settings: Settings, clock: Clock, state_dir: Path, *,
                  read_only: bool) -> tuple[Exchange, tuple[str, ...]]:
    """The venue of the settings' environment, as `runner run` opens it, and notes on it.

    Paper: the simulated account the paper service saved in the state directory (saved
    again after every write); `list` restores it without saving. With no saved account,
    a new empty one that is never saved (nothing on it needs a decision).
    """
    paper: PaperAccount = "existing_read_only" if read_only else "existing"
    try:
        where = replace(settings, state_dir=state_dir) if settings.is_paper else settings
        opened = open_venue(where, clock, paper=paper)
    except PaperAccountUnreadable as error:
        raise Refused(str(error)) from None
    return opened.exchange, opened.lines


def open_session(settings: Settings, state_dir: Path, clock: Clock, *, read_only: bool,
                 create_store: bool = False, exchange: Exchange | None = None) -> Session:
    """Open store and exchange for one command; raise Refused when either cannot be used."""
    closers = ExitStack()
    notes: tuple[str, ...] = ()
    try:
        if exchange is None:
            exchange, notes = open_exchange(settings, clock, state_dir, read_only=read_only)
            closers.callback(getattr(exchange, "close", None) or getattr(
                exchange, "save", lambda: None))  # REST session; paper account saved
        store = (_open_read_only(state_dir, clock, closers) if read_only
                 else _open_writable(state_dir, clock, create_store, closers))
        if read_only:
            from runner.exchange.read_only import ReadOnlyExchange

            exchange = ReadOnlyExchange(exchange)  # type: ignore[assignment]
    except BaseException:
        closers.close()
        raise
    return Session(settings, state_dir, clock, exchange, store, read_only, notes, closers)


def _open_read_only(state_dir: Path, clock: Clock, closers: ExitStack) -> Store | None:
    from runner.cli.status_report import StatusUnavailable, read_only_store

    path = default_store_path(state_dir)
    if not path.is_file():
        return None
    try:
        connection = closers.enter_context(read_only_store(state_dir))
    except StatusUnavailable as error:
        raise Refused(str(error)) from None
    return Store(connection, path, clock)


def _open_writable(state_dir: Path, clock: Clock, create: bool,
                   closers: ExitStack) -> Store:
    from runner.store.schema import StoreTooNew

    path = default_store_path(state_dir)
    if not create and not path.is_file():
        raise Refused(f"no store at {path}: nothing is tracked there (set --state-dir or"
                      " RUNNER_STATE_DIR to the service's state directory)")
    try:
        store = Store.open(path, clock)
    except StoreUnreadable as error:
        raise Refused(f"the store is unreadable ({error}); start the service once: it"
                      " quarantines a damaged store and rebuilds from the exchange") from None
    except (StoreTooNew, ValueError) as error:
        raise Refused(str(error)) from None
    except sqlite3.OperationalError as error:
        raise Refused(f"the store cannot be opened ({error}); is the service running?"
                      ) from None
    closers.callback(store.close)
    return store


# -- list --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TradesView:
    """Active trades and what the comparison with the exchange says needs a decision."""

    at: datetime
    trades: tuple[Trade, ...]
    plan: ReconcilePlan
    unworked: tuple[Trade, ...]  # not OPEN and no execution in flight: nothing moves them

    @property
    def needs_decision(self) -> bool:
        plan = self.plan
        return bool(plan.discrepancies or plan.foreign_positions or plan.surplus_positions
                    or self.unworked)


def read_trades_view(store: Store | None, exchange: Exchange, now: datetime) -> TradesView:
    """Compare the store with the exchange without changing either (raises ExchangeError)."""
    working = exchange.open_orders()
    positions = without_external(exchange.positions(),
                                 store.external_positions() if store else {})
    ledger = _refreshed(store.all_orders() if store else [], working, exchange)
    trades = [_credited_copy(store, trade, ledger) for trade in
              (store.load_active_trades() if store else [])]
    plan = plan_reconciliation(trades, ledger, working, positions, now)
    executing = store.load_executions() if store else {}
    unworked = tuple(t for t in trades if t.stage is not TradeStage.OPEN
                     and t.trade_id not in executing and t.trade_id not in plan.expired_trades
                     and t.trade_id not in plan.awaiting_settlement)
    return TradesView(now, tuple(trades), plan, unworked)


def _refreshed(ledger: Sequence[LedgerOrder], working: Sequence[Order],
               exchange: Exchange) -> list[LedgerOrder]:
    """Ledger rows with the fills the exchange reports now (in memory only)."""
    by_client = {o.client_order_id: o for o in working if o.client_order_id is not None}
    rows = []
    for row in ledger:
        view = by_client.get(row.client_order_id)
        if view is None and row.is_live and (row.status is not LedgerStatus.INTENT
                                             or row.send_attempts):
            view = exchange.get_order(client_order_id=row.client_order_id)
        if view is not None and view.filled_qty > row.filled_qty:
            row = replace(row, filled_qty=view.filled_qty, avg_price=view.avg_price,
                          fee=view.fee)
        rows.append(row)
    return rows


def _credited_copy(store: Store | None, trade: Trade, ledger: Sequence[LedgerOrder]) -> Trade:
    executions = executions_from_orders(r for r in ledger if r.trade_id == trade.trade_id)
    for record in store.rfqs_for_trade(trade.trade_id) if store else ():
        if record.state is RfqLedgerState.FILLED:
            executions.extend(executions_from_rfq(record, trade))
    return credit_executions(trade, executions)


# -- write commands ----------------------------------------------------------------------------
def reconcile_first(session: Session) -> list[str]:
    """Reconcile as the service does at start; the lines that changed something."""
    report = reconcile(session.writable_store, session.exchange, session.clock)
    if not report.complete:
        raise Refused(report.lines[0])
    return [line for line in report.lines if line.startswith(_CHANGES)]


def close_externally(session: Session, trade_id: str, note: str, *,
                     force: bool = False) -> Outcome:
    """Mark a trade closed by hand; refused while the exchange still shows its positions."""
    store = session.writable_store
    lines = reconcile_first(session)
    trade = _active_trade(store, trade_id)
    shown = _still_shown(session, trade, force)
    if shown and not force:
        raise Refused(f"the exchange still shows trade {trade_id}'s position(s): {shown};"
                      " flatten it (runner trades flatten), or add --force if they belong"
                      " to someone else")
    closed = mark_closed_externally(store, trade_id, session.clock.now(), note,
                                    dispatcher=session.dispatcher())
    lines.append(f"trade {trade_id} marked {closed.stage.value} (reason {closed.exit_reason}):"
                 f" {note}")
    if shown:
        lines.append(f"forced: the exchange still shows {shown}; those positions are no longer"
                     " tracked (runner trades list shows them)")
    return Outcome(True, tuple(lines))


def _still_shown(session: Session, trade: Trade, force: bool) -> str:
    """The trade's legs the exchange still shows (beyond other trades' shares), as text."""
    try:
        found = {p.symbol: p.qty for p in session.exchange.positions()}
    except ExchangeError as error:
        if force:
            return ""
        raise Refused(f"cannot confirm the position is gone ({error}); retry, or --force"
                      ) from None
    others = signed_holdings(t for t in session.writable_store.load_active_trades()
                             if t.trade_id != trade.trade_id)
    shown = []
    for leg in trade.legs:
        there = (found.get(leg.symbol, ZERO) - others.get(leg.symbol, ZERO)) * leg.side.sign
        if leg.open_qty > 0 and there > 0:
            shown.append(f"{leg.symbol} {min(there, leg.open_qty)}")
    return ", ".join(shown)


def flatten_trade_now(session: Session, trade_id: str,
                      limits: FlattenLimits | None = None) -> Outcome:
    """Close what a trade holds with reduce-only orders, followed and requoted (bounded)."""
    store = session.writable_store
    lines = reconcile_first(session)
    gone = nothing_to_reduce(session.exchange, _active_trade(store, trade_id))
    if gone is not None:
        raise Refused(gone)
    outcome = flatten(store, session.dispatcher(), session.exchange, session.clock, trade_id,
                      limits)
    return Outcome(outcome.is_done, (*lines, *outcome.lines))


def adopt(session: Session, symbols: Sequence[str] = (),
          strategy: str = ADOPTED_STRATEGY) -> Outcome:
    """Track positions the store does not know (all, or the named symbols) as OPEN trades."""
    store = session.writable_store
    lines = reconcile_first(session)
    adopted = adopt_positions(store, session.exchange, session.clock.now(), strategy,
                              set(symbols) if symbols else None)
    lines += [adopted_line(trade) for trade in adopted]
    missing = sorted(set(symbols) - {t.legs[0].symbol for t in adopted})
    if missing:
        lines.append(f"not adopted (no untracked, unexpired position on the exchange):"
                     f" {', '.join(missing)}")
    if not adopted and not symbols:
        lines.append("nothing to adopt: every position on the exchange is tracked")
    return Outcome(not missing, tuple(lines))


def _active_trade(store: Store, trade_id: str) -> Trade:
    trade = store.load_trade(trade_id)
    if trade is None:
        raise Refused(f"no trade {trade_id} in the store (runner trades list shows the"
                      " active ones)")
    if trade.stage.is_terminal:
        raise Refused(f"trade {trade_id} is already {trade.stage.value}")
    return trade


def audit_command(session: Session, command: str, outcome: str, **detail: Any) -> None:
    """One `operator` line in the audit log per command (only with a writable store)."""
    if session.store is not None and not session.read_only:
        session.store.audit("operator", f"trades {command}", outcome,
                            environment=session.settings.environment.value, **detail)
