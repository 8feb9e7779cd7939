"""The service's working set: trades in flight, their executions, and recent history.

Everything here is a cache of the store, loaded at start (after reconciliation) and
written through on every change, so the counters that gate entries (trades and
attempts per UTC day, cooldown, trades per cycle) survive a restart (lessons A1, I3).
A trade and its execution state are saved in one transaction: a kill can never leave
one without the other.

The cache always equals what the store holds (the service is the store's only writer
while it runs: the command line refuses to write then), so a step that changed nothing
writes nothing: the store already holds exactly that trade and execution, and a crash
recovers it. Most ticks of a working order change nothing (issue 12: 1626 of 1777
saves in a simulated week).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol

from runner.domain.commands import CancelOrder
from runner.domain.trades import Trade, TradeStage
from runner.engine.state import StrategyState, state_from_trades
from runner.execution import ExecutionState, execution_state_from_dict
from runner.execution.retry import close_exhausted_at
from runner.service.attention import Attention
from runner.store.meta import Recount
from runner.strategy.model import CycleSchedule, StrategySpec
from runner.strategy.origin import SpecOrigin

HISTORY: timedelta = timedelta(days=2)
DERIVED_KEPT = 64  # strategy states kept for reuse (a handful per strategy and day)


class TradeStore(Protocol):
    def save_trade_and_execution(self, trade: Trade, state: dict[str, Any] | None) -> None: ...
    def load_active_trades(self, strategy: str | None = None) -> list[Trade]: ...
    def load_trades(self, strategy: str | None = None,
                    since: datetime | None = None) -> list[Trade]: ...
    def load_executions(self) -> dict[str, dict[str, Any]]: ...


class ExecutionBook:
    """Active trades with their execution states, plus recent trades per strategy."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._trades: dict[str, Trade] = {}
        self._states: dict[str, ExecutionState] = {}
        self._recent: dict[str, list[Trade]] = {}
        self._active_launches_at_load: set[datetime] = set()
        self._recounts: dict[str, Recount] = {}  # today's trades a lost store had made
        # strategy -> a number bumped whenever its history changes; the strategy states
        # derived from an unchanged history are reused (see `strategy_state`)
        self._generation: dict[str, int] = {}
        self._derived: dict[tuple[object, ...], tuple[StrategySpec, StrategyState]] = {}

    def load(self, now: datetime | None = None) -> None:
        """(Re)load trades in flight and their executions from the store."""
        self._trades = {t.trade_id: t for t in self._store.load_active_trades()}
        self._active_launches_at_load = {launch for t in self._trades.values()
                                         if (launch := _launch_of(t)) is not None}
        saved = self._store.load_executions()
        self._states = {trade_id: execution_state_from_dict(data)
                        for trade_id, data in saved.items() if trade_id in self._trades}
        since = (now - HISTORY) if now is not None else None
        self._recent = {}
        for trade in self._store.load_trades(since=since):
            self._recent.setdefault(trade.strategy, []).append(trade)
        self._derived.clear()
        if now is not None:
            self.load_recounts(now)

    def load_recounts(self, now: datetime) -> None:
        """Today's trades recounted from the exchange after the store lost them (issue 7)."""
        recounts_on = getattr(self._store, "recounts_on", None)
        self._recounts = dict(recounts_on(now.date())) if recounts_on is not None else {}
        self._derived.clear()

    # -- reads -------------------------------------------------------------------------
    def trade(self, trade_id: str) -> Trade | None:
        return self._trades.get(trade_id)

    def get(self, trade_id: str) -> tuple[Trade, ExecutionState]:
        return self._trades[trade_id], self._states[trade_id]

    def working_trade_ids(self) -> list[str]:
        """Trades with an execution in progress, oldest first."""
        return sorted(self._states, key=lambda tid: (self._trades[tid].created_at, tid))

    def failed_holdings(self) -> list[Trade]:
        """Recent FAILED trades that still hold something (a close that gave up)."""
        return [t for history in self._recent.values() for t in history
                if t.stage is TradeStage.FAILED and not t.is_flat]

    def failed_close_holdings(self) -> list[Trade]:
        """Trades holding legs from a failed close: FAILED ones, and closes that used up
        their budget and still retry (runner.execution.retry)."""
        retrying = [t for t in self._trades.values()
                    if close_exhausted_at(t) is not None and not t.is_flat]
        return [*retrying, *self.failed_holdings()]

    def watch_failed_closes(self, attention: Attention) -> None:
        """Raise or clear the failed-close concerns (see `watch_failed_closes`)."""
        watch_failed_closes(attention, self.failed_close_holdings())

    def unworked_trades(self) -> list[Trade]:
        """Trades that should have an execution running and have none (see the service)."""
        needs_work = (TradeStage.PENDING_OPEN, TradeStage.OPENING, TradeStage.PENDING_CLOSE,
                      TradeStage.CLOSING)
        return [t for t in self._trades.values()
                if t.stage in needs_work and t.trade_id not in self._states]

    def active_trades(self, strategy: str | None = None) -> list[Trade]:
        return [t for t in self._trades.values() if strategy is None or t.strategy == strategy]

    def symbols_working(self) -> frozenset[str]:
        """Symbols of trades whose orders are being worked (their books are read fresh)."""
        return frozenset(leg.symbol for trade_id in self._states
                         for leg in self._trades[trade_id].legs)

    def _history(self, strategy: str) -> tuple[Trade, ...]:
        return tuple(self._recent.get(strategy, ()))

    # -- strategy state ----------------------------------------------------------------------
    def strategy_state(self, spec: StrategySpec, launch: datetime, now: datetime,
                       last_entry_check: datetime | None) -> StrategyState:
        """The engine's view of this strategy, from the store-backed history.

        Trades per cycle count only the trades of the schedule now in force: cycle
        numbers of an earlier, finished schedule mean other windows. The state depends
        on `now` only through its UTC day, so it is derived again only when the
        strategy's history, the day, the last entry check or the launch changed.
        """
        key = (id(spec), self._generation.get(spec.name, 0), now.date(), last_entry_check,
               launch)
        known = self._derived.get(key)
        if known is not None and known[0] is spec:
            return known[1]
        state = self._derive_state(spec, launch, now, last_entry_check)
        if len(self._derived) > DERIVED_KEPT:  # old keys are never asked again
            self._derived.clear()
        self._derived[key] = (spec, state)
        return state

    def _derive_state(self, spec: StrategySpec, launch: datetime, now: datetime,
                      last_entry_check: datetime | None) -> StrategyState:
        effective = self.launch_for(spec, launch, now)
        history = self._history(spec.name)
        state = _with_recount(state_from_trades(effective, history, now, last_entry_check),
                              self._recounts.get(spec.name), now)
        if not isinstance(spec.schedule, CycleSchedule):
            return state
        return replace(state, trades_per_cycle=MappingProxyType(cycle_counts(history,
                                                                              effective)))

    def launch_for(self, spec: StrategySpec, launch: datetime, now: datetime) -> datetime:
        """The launch a cycle schedule counts from: a restart inside a schedule resumes it.

        Cycles are relative to the launch (strategy-semantics.md), but a restart must not
        start them again (lessons A1). An earlier launch, recorded on its trades, stays in
        force when its schedule was still running at this process's launch, or when one
        of its trades was still active then: the restart resumes that schedule to its end.
        """
        if not isinstance(spec.schedule, CycleSchedule):
            return launch
        return resumed_launch(spec.schedule, launch, launches_of(self._history(spec.name)),
                              self._active_launches_at_load)

    def next_trade_id(self, strategy: str, now: datetime) -> str:
        """A readable id, unique per strategy: name, UTC time, sequence in the history."""
        sequence = sum(1 for _ in self._history(strategy)) + 1
        return f"{strategy}-{now:%Y%m%dT%H%M%S}Z-{sequence}"

    # -- writes ----------------------------------------------------------------------------
    def save_opening(self, trade: Trade, origin: SpecOrigin | None) -> None:
        """Save a new trade with the strategy copy it opens with, in one transaction."""
        with self._store.transaction():
            self._store.save_trade_and_execution(trade, None)
            if origin is not None:
                self._store.save_strategy_copy(trade.trade_id, trade.strategy,
                                               origin.content_hash, origin.to_json())
        self._cache(trade, None)

    def save(self, trade: Trade, state: ExecutionState | None) -> bool:
        """Persist the trade with its execution state (one transaction), then cache both;
        nothing when both equal what was last written (the store holds them). True when
        written."""
        if self.unchanged(trade, state):
            return False
        self._store.save_trade_and_execution(trade, state.to_dict() if state else None)
        self._cache(trade, state)
        return True

    def unchanged(self, trade: Trade, state: ExecutionState | None) -> bool:
        """Whether the store already holds exactly this trade with this execution."""
        known = self._trades.get(trade.trade_id)
        return known is not None and known == trade and self._states.get(trade.trade_id) == state

    def _cache(self, trade: Trade, state: ExecutionState | None) -> None:
        self._remember(trade)
        if trade.stage.is_terminal:
            self._trades.pop(trade.trade_id, None)
            self._states.pop(trade.trade_id, None)
            return
        self._trades[trade.trade_id] = trade
        if state is None:
            self._states.pop(trade.trade_id, None)
        else:
            self._states[trade.trade_id] = state

    def _remember(self, trade: Trade) -> None:
        self._generation[trade.strategy] = self._generation.get(trade.strategy, 0) + 1
        history = self._recent.setdefault(trade.strategy, [])
        for position, known in enumerate(history):
            if known.trade_id == trade.trade_id:
                history[position] = trade
                return
        history.append(trade)

    def prune(self, now: datetime) -> None:
        """Forget finished, flat trades older than the history window, so memory and the
        per-tick state computation stay flat in a long run. A trade still holding
        something (a close that gave up) is kept until its legs are settled."""
        cutoff = now - HISTORY
        for strategy, history in self._recent.items():
            kept = [t for t in history if t.stage.is_active or not t.is_flat
                    or t.created_at >= cutoff]
            if len(kept) != len(history):
                self._recent[strategy] = kept
                self._generation[strategy] = self._generation.get(strategy, 0) + 1

    def cancel_live_orders(self, dispatcher: Any, reason: str = "shutdown",
                           trade_id: str | None = None) -> int:
        """Cancel live orders in the ledger (all, or one trade's); trade state is untouched."""
        commands = [CancelOrder(row.trade_id, row.client_order_id, row.order_id, reason)
                    for row in self._store.live_orders(trade_id=trade_id)]
        if commands:
            dispatcher.execute(commands)
        return len(commands)


def _with_recount(state: StrategyState, recount: Recount | None,
                  now: datetime) -> StrategyState:
    """Add the trades a lost store had made today to the counts (recounted at a blank
    start, before this store made any: the two never overlap), and their last fill to
    the cooldown."""
    if recount is None or recount.day != now.date() or recount.trades == 0:
        return state
    last = state.last_created_at
    if recount.last_at is not None and (last is None or recount.last_at > last):
        last = recount.last_at
    return replace(state, trades_today=state.trades_today + recount.trades,
                   attempts_today=state.attempts_today + recount.trades,
                   last_created_at=last)


def resumed_launch(schedule: CycleSchedule, launch: datetime, earlier: Iterable[datetime],
                   active_at_launch: Collection[datetime]) -> datetime:
    """The launch cycles count from for a process launched at `launch`: the latest earlier
    launch (recorded on the strategy's trades) whose schedule still ran at `launch`, or
    that had a trade still active then; otherwise `launch` itself (see `launch_for`)."""
    for previous in sorted((e for e in earlier if e < launch), reverse=True):
        windows = schedule.windows(previous)
        still_running = bool(windows) and windows[-1].close_at > launch
        if still_running or previous in active_at_launch:
            return previous
    return launch


def launches_of(trades: Iterable[Trade]) -> set[datetime]:
    """The launches recorded on `trades` (metadata "launch")."""
    return {launch for trade in trades if (launch := _launch_of(trade)) is not None}


def cycle_counts(trades: Iterable[Trade], launch: datetime) -> dict[int, int]:
    """Trades per cycle of the schedule launched at `launch`."""
    cycles: dict[int, int] = {}
    for trade in trades:
        if trade.cycle is not None and _launch_of(trade) == launch:
            cycles[trade.cycle] = cycles.get(trade.cycle, 0) + 1
    return cycles


LAUNCH_KEY = "launch"


def with_launch(trade: Trade, launch: datetime) -> Trade:
    """Record the launch a trade's schedule counted from (see `launch_for`)."""
    return replace(trade, metadata=(*trade.metadata, (LAUNCH_KEY, launch.isoformat())))


def _launch_of(trade: Trade) -> datetime | None:
    for key, value in trade.metadata:
        if key == LAUNCH_KEY:
            return datetime.fromisoformat(value)
    return None


FAILED_CLOSE_PREFIX = "failed_close."


def watch_failed_closes(attention: Attention, holdings: list[Trade]) -> None:
    """One concern per trade holding legs from a failed close, blocking its strategy's
    entries (issue 7 item 8); cleared once it is flat, settled, or decided by the operator.

    Raised from the trades themselves (the store), so a restart raises it again. Its
    words never change while it lasts, so it is logged and paged once per trade.
    """
    keep = set()
    for trade in holdings:
        key = f"{FAILED_CLOSE_PREFIX}{trade.trade_id}"
        keep.add(key)
        attention.report(key, _failed_close_text(trade), blocks_entries=True,
                         strategy=trade.strategy)
    attention.clear_prefix(FAILED_CLOSE_PREFIX, keep=frozenset(keep))


def _failed_close_text(trade: Trade) -> str:
    what = "failed" if trade.stage is TradeStage.FAILED else \
        "used its budget and is retried once a minute at the most aggressive price"
    return (f"trade {trade.trade_id}: its close {what}; it still holds legs, so"
            f" {trade.strategy} opens nothing new until it is flat, settled at expiry, or"
            " decided (runner trades close-externally / flatten)")
