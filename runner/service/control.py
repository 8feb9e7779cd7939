"""Live control: the service carries out the operator's requests at the start of a tick.

`runner pause|resume|flatten|close` write requests into the store
(`runner.store.control_store`); the `ControlDesk` reads the pending ones every tick,
before any strategy is decided, so a request takes effect within one tick of the
running service, or at the first tick after a start when it was stopped.

- pause: a concern per strategy (`control.pause.<name>`, `control.pause.*` for every
  strategy) that blocks entries; exits, closes and working orders go on. Recorded in
  `control_pauses`, and raised again at every start until a resume ends it.
- resume: ends the named pauses (none named: every pause). Resuming one strategy while
  every strategy is paused keeps the others paused, each by name.
- flatten: every active trade of the named strategies (none: all) that is open or
  closing is closed now by the close executor at the most aggressive phase of its
  close (`most_aggressive`): a close already working is superseded. Trades still
  opening are left to finish and named in the outcome. Only the runner's own trades:
  nothing the store does not track is ever touched.
- close: one trade, by its strategy's own close execution (reason `operator_close`).

Each request is marked applied or refused with the time and the outcome, logged (the
listener) and alerted (WARNING). Trade state changes only through the service's own
`_apply`, the one writer of trades.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeStage
from runner.execution import start_close
from runner.execution.phases import phase_plan
from runner.service.alerts import Alerter, AlertLevel
from runner.service.attention import Attention
from runner.store import control_store
from runner.store.control_store import EVERY_STRATEGY, ControlRequest
from runner.strategy.model import (
    AutoExecution,
    ExecutionSpec,
    LimitExecution,
    LimitLike,
    PhasedLimitExecution,
    RfqExecution,
)

if TYPE_CHECKING:
    from runner.service.tracking import ExecutionBook
    from runner.strategy.model import StrategySpec


class Service(Protocol):
    """What the desk needs of the running service (`service.loop.Service`); a protocol, so
    this module does not import the loop that owns the desk."""

    all_specs: tuple[StrategySpec, ...]
    _book: ExecutionBook

    def _rules_for(self, trade: Trade) -> StrategySpec | None: ...

    def _apply(self, trade: Trade, state: object, commands: Sequence[object],
               alerts: Sequence[str], report: Any, notes: Sequence[str] = ()) -> None: ...


class TickReport(Protocol):
    """The part of `service.loop.TickReport` the desk writes: the trades it set closing."""

    closing: list[str]

PAUSE_PREFIX: Final = "control.pause."
FLATTEN_REASON: Final = "operator_flatten"
CLOSE_REASON: Final = "operator_close"
_CLOSABLE: Final = (TradeStage.OPEN, TradeStage.PENDING_CLOSE, TradeStage.CLOSING)

Listener = Callable[[str, dict[str, object]], None]


def pause_key(strategy: str) -> str:
    return f"{PAUSE_PREFIX}{strategy}"


def pause_text(strategy: str) -> str:
    target = "" if strategy == EVERY_STRATEGY else f" {strategy}"
    return (f"paused by the operator (runner pause): no new entries until runner resume"
            f"{target}")


def most_aggressive(spec: ExecutionSpec) -> PhasedLimitExecution:
    """The limit part of a close, every phase priced like its last (most aggressive) one:
    the same budget and requotes, at the price it would end with."""
    limit = _limit_part(spec)
    plan = phase_plan(limit)
    last = plan[-1]
    phases = tuple(replace(phase, reference=last.reference, offset_pct=last.offset_pct)
                   for phase in plan)
    return PhasedLimitExecution(phases=phases, guards=limit.guards, profile=limit.profile)


def _limit_part(spec: ExecutionSpec) -> LimitLike:
    if isinstance(spec, AutoExecution):
        return spec.limit
    if isinstance(spec, RfqExecution):
        return spec.fallback or LimitExecution()
    return spec


class ControlDesk:
    """Applies the pending control requests of one store to one service."""

    def __init__(self, store: Any, attention: Attention, listener: Listener,
                 alerter: Alerter | None) -> None:
        self._store = store
        self._attention = attention
        self._listener = listener
        self._alerter = alerter
        self._enabled = hasattr(store, "transaction") and hasattr(store, "connection")
        self._restored = False
        # (the tick's moment, the pending requests `has_pending` read then)
        self._read: tuple[datetime, list[ControlRequest]] | None = None

    def has_pending(self, now: datetime | None = None) -> bool:
        """Whether a request waits to be carried out (the tick then prices every trade in
        flight, so a close or flatten is sent in the same tick; issue 11). Unknown: True.
        With `now`, the tick's moment, the requests read are carried out by `apply` at
        that moment without reading them again (one read a tick; issue 12)."""
        if not self._enabled:
            return False
        try:
            pending = control_store.pending_requests(self._store.connection)
        except Exception:  # no table yet, a store that cannot be read: read the prices
            return True
        self._read = (now, pending) if now is not None else None
        return bool(pending)

    def apply(self, service: Service, snapshot: MarketSnapshot, now: datetime,
              report: TickReport) -> None:
        """Restore the pauses once, then carry out every pending request. A request that
        fails is refused with the error; only a store that cannot be read or written leaves
        it pending (logged) for the next tick."""
        if not self._enabled:
            return
        try:
            if not self._restored:
                control_store.ensure_control_tables(self._store.connection)
                self._restore_pauses()
                self._restored = True
            read, self._read = self._read, None
            pending = read[1] if read is not None and read[0] == now else \
                control_store.pending_requests(self._store.connection)
            for request in pending:
                self._carry_out(service, request, snapshot, now, report)
        except Exception as error:  # never lose a tick to a control request
            self._listener("control_failed", {"error": repr(error)})

    def _restore_pauses(self) -> None:
        for strategy in control_store.paused(self._store.connection):
            self._raise_pause(strategy)

    def _raise_pause(self, strategy: str) -> None:
        self._attention.report(pause_key(strategy), pause_text(strategy), blocks_entries=True,
                               strategy=None if strategy == EVERY_STRATEGY else strategy)

    def _carry_out(self, service: Service, request: ControlRequest, snapshot: MarketSnapshot,
                   now: datetime, report: TickReport) -> None:
        try:
            ok, outcome = self._handle(service, request, snapshot, now, report)
        except Exception as error:  # refused, never retried every tick (no runaway)
            ok, outcome = False, f"failed: {error!r}"
        status = control_store.APPLIED if ok else control_store.REFUSED
        with self._store.transaction() as tx:
            control_store.mark_done(tx, request.request_id, status, now, outcome)
        self._tell(request, status, outcome)

    def _handle(self, service: Service, request: ControlRequest, snapshot: MarketSnapshot,
                now: datetime, report: TickReport) -> tuple[bool, str]:
        if request.action == "pause":
            return self._pause(request, now)
        if request.action == "resume":
            return self._resume(service, request, now)
        if request.action == "flatten":
            return self._flatten(service, request, snapshot, now, report)
        if request.action == "close":
            return self._close_one(service, request, snapshot, now, report)
        return False, f"unknown action {request.action!r}"

    def _tell(self, request: ControlRequest, status: str, outcome: str) -> None:
        self._listener("control_" + status, {"request": request.request_id,
                                             "action": request.action,
                                             "targets": ",".join(request.targets) or "all",
                                             "outcome": outcome})
        if self._alerter is not None:
            self._alerter.alert(f"control.{request.request_id}",
                                f"{request.describe()} {status}: {outcome}",
                                level=AlertLevel.WARNING)

    # -- pause and resume ------------------------------------------------------------------
    def _pause(self, request: ControlRequest, now: datetime) -> tuple[bool, str]:
        names = request.targets or (EVERY_STRATEGY,)
        with self._store.transaction() as tx:
            for name in names:
                control_store.set_paused(tx, name, now, request.request_id)
        for name in names:
            self._raise_pause(name)
        what = "every strategy" if not request.targets else ", ".join(names)
        return True, f"paused {what}: no new entries; exits and closes go on"

    def _resume(self, service: Service, request: ControlRequest,
                now: datetime) -> tuple[bool, str]:
        current = control_store.paused(self._store.connection)
        if not request.targets:
            ended = sorted(current)
            keep: set[str] = set()
        else:
            keep = set(current) - set(request.targets)
            if EVERY_STRATEGY in keep:  # one resumed out of "all": the rest stay, by name
                keep = (keep - {EVERY_STRATEGY}) | (self._known(service) - set(request.targets))
            ended = sorted(set(current) - keep)
        with self._store.transaction() as tx:
            control_store.clear_paused(tx)
            for name in sorted(keep):
                control_store.set_paused(tx, name, current.get(name, now), request.request_id)
        for name in sorted(keep):
            self._raise_pause(name)
        self._attention.clear_prefix(PAUSE_PREFIX, keep=frozenset(map(pause_key, keep)))
        if not ended:
            return True, "nothing was paused"
        still = f"; still paused: {', '.join(sorted(keep))}" if keep else ""
        names = ", ".join("every strategy" if n == EVERY_STRATEGY else n for n in ended)
        return True, f"resumed {names}{still}"

    def _known(self, service: Service) -> set[str]:
        names = {spec.name for spec in service.all_specs}
        names |= {str(row[0]) for row in self._store.strategies_seen()}
        return names

    # -- flatten and close -----------------------------------------------------------------
    def _flatten(self, service: Service, request: ControlRequest, snapshot: MarketSnapshot,
                 now: datetime, report: TickReport) -> tuple[bool, str]:
        wanted = set(request.targets)
        trades = [t for t in service._book.active_trades()
                  if not wanted or t.strategy in wanted]
        if not trades:
            return True, "nothing to flatten: no active trade"
        parts = []
        for trade in trades:
            if trade.stage not in _CLOSABLE:
                parts.append(f"{trade.trade_id} still {trade.stage.value}: left to finish"
                             " (runner pause stops new ones; flatten again once it is open)")
                continue
            spec = service._rules_for(trade)
            close = most_aggressive(spec.execution.close if spec else LimitExecution())
            try:
                parts.append(self._start(service, trade, close, FLATTEN_REASON, snapshot, now,
                                         report))
            except Exception as error:  # one trade's failure never stops the others
                parts.append(f"{trade.trade_id}: not started: {error!r}")
        return True, "; ".join(parts)

    def _close_one(self, service: Service, request: ControlRequest, snapshot: MarketSnapshot,
                   now: datetime, report: TickReport) -> tuple[bool, str]:
        (trade_id,) = request.targets
        trade = service._book.trade(trade_id)
        if trade is None or trade.stage.is_terminal:
            return False, f"trade {trade_id} is not active (runner status lists the active ones)"
        if trade.stage is not TradeStage.OPEN:
            return False, (f"trade {trade_id} is {trade.stage.value}, not open: nothing to do"
                           " now (runner flatten closes a closing trade at once)")
        spec = service._rules_for(trade)
        close = spec.execution.close if spec else LimitExecution()
        return True, self._start(service, trade, close, CLOSE_REASON, snapshot, now, report)

    def _start(self, service: Service, trade: Trade, close: ExecutionSpec, reason: str,
               snapshot: MarketSnapshot, now: datetime, report: TickReport) -> str:
        previous = None
        if trade.trade_id in service._book.working_trade_ids():
            previous = service._book.get(trade.trade_id)[1]
        step = start_close(trade, close, reason, snapshot, now, previous=previous)
        service._apply(step.trade, step.state, step.commands, step.alerts, report, step.notes)
        if step.state is previous and previous is not None:
            return f"{trade.trade_id}: {'; '.join(step.notes) or 'waits for its close'}"
        report.closing.append(trade.trade_id)
        return f"{trade.trade_id} closing ({reason})"
