"""The tick loop: one snapshot per tick, every strategy decided against it, executions advanced.

Invariants:
- A trade is written to the store before any order for it is sent (A1); the dispatcher
  writes every order intent before its request (design decision 5).
- Trade and execution state are saved after every step, so a kill at any point resumes
  from the last step; a graceful stop never changes trade state (A4) and runs between
  ticks, never inside one (A5).
- A strategy that raises is isolated for that tick; the others go on. Only whole-tick
  failures count towards the failure streak that makes the process exit for its
  supervisor (10 in a row; old-system g.2).
- The engine and the executors are pure; this module is the only one that joins them
  to the exchange, the store and the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from runner.domain.clock import Clock
from runner.domain.commands import Event, OrderPurpose
from runner.domain.instruments import Underlying
from runner.domain.snapshot import MarketSnapshot, Position
from runner.domain.trades import Trade, TradeStage
from runner.engine.conditions import blocked_by_clock
from runner.engine.expiries import expiries_needed, held_expiries
from runner.engine.exposure import uses_account_delta
from runner.engine.gates import EntryGates
from runner.engine.state import StrategyState
from runner.engine.wakeup import due_gates, next_entry_opportunity
from runner.exchange.port import Exchange
from runner.execution import ExecutionState
from runner.reconcile.resync import missed_events
from runner.service.alerts import Alerter
from runner.service.attention import Attention
from runner.service.control import ControlDesk
from runner.service.held_rules import HeldRules, resolve_held_rules
from runner.service.loop_decisions import DecisionSteps
from runner.service.loop_executions import ExecutionSteps
from runner.service.read_plan import (
    Demand,
    ReadPlanner,
    learned_a_fill,
    legs_chains,
    trade_needs,
    underlyings_of,
)
from runner.service.snapshots import MarketNeeds, SnapshotReader
from runner.service.store_guard import StoreGuard
from runner.service.tick_cadence import seconds_until_next_tick
from runner.service.tick_report import TickReport, TooManyFailures
from runner.service.tracking import ExecutionBook
from runner.service.watch import MarketWatch
from runner.strategy.model import StrategySpec
from runner.strategy.origin import SpecOrigin

MAX_FAILED_TICKS: Final = 10
PRUNE_EVERY: Final = timedelta(hours=1)  # forget old finished trades (memory stays flat)


Listener = Callable[[str, dict[str, object]], None]


class Service(ExecutionSteps, DecisionSteps):
    """Runs the strategies against one exchange, one store and one clock."""

    def __init__(self, specs: Sequence[StrategySpec], *, exchange: Exchange, store: object,
                 dispatcher: object, clock: Clock, launch: datetime,
                 listener: Listener | None = None, alerter: Alerter | None = None) -> None:
        # Every valid strategy is decided each tick: a disabled one opens nothing, but the
        # trades it still holds keep their exits and closes (lessons A3).
        self.all_specs = tuple(specs)
        self.specs = tuple(spec for spec in specs if spec.enabled)
        # Fixed for the process's life, so worked out once rather than every tick.
        self._underlyings = frozenset(spec.underlying for spec in specs) | frozenset(
            leg.underlying for spec in specs for leg in spec.legs)
        self._account_delta_names = frozenset(
            spec.name for spec in specs if uses_account_delta(spec))
        self._specs_by_name = {spec.name: spec for spec in specs}
        self._exchange = exchange
        self._store = store
        self._dispatcher = dispatcher
        self._clock = clock
        self.launch = launch
        self._reader = SnapshotReader(exchange)
        self._book = ExecutionBook(store)
        self._pending_events: list[Event] = []
        self._last_entry_check: dict[str, datetime] = {}
        self._states: dict[str, StrategyState] = {}
        self._closes_to_renew: set[str] = set()
        self._pruned_at: datetime | None = None
        self._listener = listener or (lambda _kind, _data: None)
        self._stop = False  # a plain flag: signal handlers set it (stopping.py)
        self.watch = MarketWatch(alerter)
        self._alerter = alerter
        # What needs the operator; a concern may block new entries (never exits).
        self.attention = Attention(self._on_concern)
        # The operator's requests (runner pause/resume/flatten/close), read every tick.
        self.control = ControlDesk(store, self.attention, self._listener, alerter)
        # Trades in flight managed from the strategy copy they opened with (held_rules.py).
        self.held = HeldRules()
        self._origins: dict[str, SpecOrigin | None] = {}  # checked once per strategy
        self._told_unresolved: dict[str, tuple[object, ...]] = {}  # strategy -> last key
        # The store must explain the exchange's positions before anything opens (issue 7).
        self.store_guard = StoreGuard(store, self.attention, exchange,
                                      [spec.name for spec in specs], self._listener)
        self.last_snapshot: MarketSnapshot | None = None
        # What each tick reads is planned from the decisions due (issue 11, read_plan.py).
        self._planner = ReadPlanner()
        self._positions_seen: tuple[Position, ...] = ()  # the last positions read
        # symbol -> a tick coarser than listed, learned from prices the exchange changed
        self.learned_ticks: dict[str, Decimal] = {}
        self.failure_streak = 0
        self.ticks = 0
        # A simulation stepping by events checks strategies only on their grid (last check
        # + k x interval); the live loop checks when the interval has elapsed.
        self.checks_on_grid = False
        # How the loop waits between ticks; the market feed replaces it with a wait that
        # ends early when a pushed price makes an exit due (runner/feed/reaction.py).
        self.between_ticks: Callable[[float], None] = clock.sleep
        # Trades whose exit a pushed price made due: the tick the push starts prices their
        # legs and evaluates their market exits whatever the check interval (feed/reaction.py).
        self.reacting: frozenset[str] = frozenset()
        # strategy -> (its state, the moment, its entry gates) worked out by this tick's
        # read plan, handed to its decision when it decides on that very state and moment.
        self._tick_gates: dict[str, tuple[StrategyState, datetime, EntryGates]] = {}

    # -- the loop ----------------------------------------------------------------------
    @property
    def reader(self) -> SnapshotReader:
        return self._reader

    def request_stop(self) -> None:
        """Ask the loop to stop after the current tick (signal handlers call this)."""
        self._stop = True

    @property
    def stop_requested(self) -> bool:
        return self._stop

    @property
    def next_prune(self) -> datetime | None:
        """When a tick next prunes finished trades from memory (None before the first
        tick): a trade's id counts the history kept, so a simulation passes over no check
        at or after it (entry_stretch.py)."""
        return None if self._pruned_at is None else self._pruned_at + PRUNE_EVERY

    def resume(self, now: datetime) -> None:
        """Load the trades and executions in flight from the store (after reconciliation),
        and hand each execution what the ledger learned while the process was down."""
        self._book.load(now)
        self._resolve_held()
        states = [self._book.get(trade_id)[1] for trade_id in self._book.working_trade_ids()]
        self._pending_events.extend(missed_events(self._store, states))
        self._closes_to_renew = {s.trade_id for s in states
                                 if s.purpose in (OrderPurpose.CLOSE, OrderPurpose.UNWIND)}
        self._book.watch_failed_closes(self.attention)

    def _resolve_held(self) -> None:
        """Say once which trades keep the rules of their stored copy, and which nothing
        can manage (that needs the operator: paged, and their strategy opens nothing)."""
        self.held = resolve_held_rules(self._store, self.all_specs, self._book.active_trades())
        for item in self.held.held:
            self._listener("trade_rules", {"trade": item.trade_id, "strategy": item.strategy,
                                           "text": item.line()})
        for item in self.held.unmanaged():
            self.attention.report(f"strategy_file.unmanaged.{item.trade_id}", item.line(),
                                  blocks_entries=True, strategy=item.strategy)

    def run(self, tick_interval: float, *, on_tick: Callable[[TickReport], None] | None = None,
            until: datetime | None = None) -> None:
        """Tick until asked to stop (or `until`); raise TooManyFailures after a failure streak."""
        while not self._stop:
            if until is not None and self._clock.now() >= until:
                return
            report = self.safe_tick()
            if on_tick is not None and report is not None:
                on_tick(report)
            if not self._stop:  # slower while the exchange is unreachable (C4)
                self.between_ticks(seconds_until_next_tick(
                    tick_interval, reachable=self.watch.verdict.reachable))

    def safe_tick(self) -> TickReport | None:
        """One tick; a failure is counted, and a streak of them raises TooManyFailures."""
        try:
            report = self.tick()
        except Exception as error:  # the loop survives anything one tick throws
            self.failure_streak += 1
            self._listener("tick_failed", {"error": repr(error), "streak": self.failure_streak})
            if self.failure_streak >= MAX_FAILED_TICKS:
                raise TooManyFailures(
                    f"{self.failure_streak} consecutive failed ticks; last: {error!r}"
                ) from error
            return None
        self.failure_streak = 0
        return report

    def tick(self) -> TickReport:
        """Poll, read one snapshot, advance executions, decide every strategy."""
        now = self._clock.now()
        self.ticks += 1
        report = TickReport(at=now)
        events = [*self._pending_events, *self._dispatcher.poll(now)]
        self._pending_events = []
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._book.prune(now)
            self._pruned_at = now
        self._states = {spec.name: self._strategy_state(spec, now) for spec in self.all_specs}
        needs, listed = self._needs(now, events)
        read = self._reader.read(needs, now, listed, polled=self._dispatcher.orders_polled(now))
        self._planner.note(needs, read)
        if read.positions is not None:
            self._positions_seen = read.positions
        report.snapshot_failures = read.failures
        verdict = self.watch.observe(read, needs)
        report.entries_blocked = verdict.blocks_entries
        snapshot = self.watch.fresh_view(read)
        if self.learned_ticks:
            snapshot = replace(snapshot, learned_ticks=dict(self.learned_ticks))
        self.last_snapshot = read
        if self.store_guard.check(read.positions, self._book, now):
            self._states = {spec.name: self._strategy_state(spec, now) for spec in self.all_specs}
        self._work_unworked(snapshot, now, report)
        self._renew_expired_closes(snapshot, now, report)
        self._settle_failed_holdings(now)
        self._advance_executions(snapshot, events, now, report)
        self._book.watch_failed_closes(self.attention)
        self.control.apply(self, snapshot, now, report)  # before any entry is decided
        for spec in self.all_specs:
            try:
                self._decide_strategy(spec, snapshot, now, report)
            except Exception as error:  # isolate the strategy, go on with the others
                report.strategy_errors.append((spec.name, repr(error)))
                self._listener("strategy_failed", {"strategy": spec.name, "error": repr(error)})
        self._decide_held(snapshot, now, report)
        self.reacting = frozenset()
        return report

    # -- market needs --------------------------------------------------------------------
    def _needs(
        self, now: datetime, events: Sequence[Event] = ()
    ) -> tuple[MarketNeeds, dict[Underlying, tuple[datetime, ...]]]:
        """What must be read this tick, from the decisions due now (read_plan.py)."""
        underlyings = self._underlyings
        # Chains only for strategies that could open now, plus the trades in flight that
        # need prices: a strategy whose gates are closed reads nothing (design 2, issue 11).
        entering = self._entering(now)
        entering_underlyings = underlyings_of(entering)
        listed = {u: self._reader.listed_expiries(u, now) for u in sorted(entering_underlyings)}
        trades = self._book.active_trades()
        wants = [trade_needs(self._rules_for(t), t, self._launch_of(t), now) for t in trades]
        # A strategy a clock condition blocks now reads no chain (conditions.blocked_by_clock)
        entry_chains = frozenset(expiries_needed(
            [spec for spec in entering if not blocked_by_clock(spec.entry, now)], listed, now))
        operator_waits = bool(trades) and self.control.has_pending(now)
        demand = Demand(
            underlyings=underlyings, entry_chains=entry_chains,
            entry_underlyings=entering_underlyings | {u for u, _ in entry_chains},
            priced_chains=frozenset(legs_chains(
                [t for t, want in zip(trades, wants, strict=True)
                 if want.priced or operator_waits or t.trade_id in self.reacting], now)
                | self._held_chains(entering, now)),
            index=frozenset(want.index for want in wants if want.index is not None),
            books=self._book.symbols_working(),
            working=any(t.stage is not TradeStage.OPEN for t in trades),
            positions=any(want.positions for want in wants) or self.store_guard.wants_positions(
                now),
            filled=learned_a_fill(events))
        return self._planner.plan(demand, now, reachable=self.watch.verdict.reachable), listed

    def _entering(self, now: datetime) -> list[StrategySpec]:
        """The strategies whose entry is due now with every gate open. Each due entry's
        gates are kept for its decision this tick (`DecisionSteps._known_gates`)."""
        self._tick_gates = {}
        entering = []
        for spec in self.all_specs:
            state = self._states[spec.name]
            gates = due_gates(spec, state, now)
            if gates is None:
                continue
            self._tick_gates[spec.name] = (state, now, gates)
            if all(check.passed for check in gates[0]):
                entering.append(spec)
        return entering

    def _launch_of(self, trade: Trade) -> datetime:
        state = self._states.get(trade.strategy)
        return state.launch if state is not None else self.launch

    def _held_chains(self, entering: list[StrategySpec],
                     now: datetime) -> set[tuple[Underlying, datetime]]:
        """Chains of the positions last seen, when an account delta rule will be evaluated:
        it decides on chain delta x position qty, never on the exchange's greeks."""
        positions = self._positions_seen
        if not positions or not self._account_delta_names:
            return set()
        names = {t.strategy for t in self._book.active_trades()} | {s.name for s in entering}
        if names.isdisjoint(self._account_delta_names):
            return set()
        return held_expiries((p.symbol for p in positions), now)

    # -- idle time -----------------------------------------------------------------------
    def idle_until(self, now: datetime) -> datetime | None:
        """With nothing in flight, the earliest moment any strategy could open; else None.

        An accelerated simulation may jump the clock there (nothing can happen before);
        the live service never does, it simply ticks.
        """
        if self._book.active_trades():
            return None
        wakeups = []
        for spec in self.specs:
            state = self._strategy_state(spec, now)
            wake = next_entry_opportunity(spec, state, now)
            if wake is not None and wake <= now:
                return None
            if wake is not None:
                wakeups.append(wake)
        return min(wakeups, default=None)

    # -- simulation stepping (service/stepping.py) ---------------------------------------
    def in_flight(self) -> bool:
        """Orders or RFQs working, answers pending, or a trade waiting to be worked: only
        the next tick can tell what became of them."""
        return bool(self._pending_events or self._closes_to_renew
                    or self._book.working_trade_ids() or self._book.unworked_trades())

    def awaiting_answers(self) -> bool:
        """Answers no execution has seen yet, a close to renew or a trade waiting to be
        worked: the next tick must see them (the rest of `in_flight` can be looked ahead
        at, service/order_probe.py)."""
        return bool(self._pending_events or self._closes_to_renew
                    or self._book.unworked_trades())

    def working_executions(self) -> list[tuple[Trade, ExecutionState]]:
        """Every trade with an execution in progress, with it."""
        return [self._book.get(trade_id) for trade_id in self._book.working_trade_ids()]

    def decision_states(self, now: datetime) -> list[tuple[StrategySpec, StrategyState]]:
        """Every strategy, and every held copy with its trades, as the next tick sees it."""
        views = [(spec, self._strategy_state(spec, now)) for spec in self.all_specs]
        for spec, trade_ids in self.held.copies():
            trades = tuple(t for tid in sorted(trade_ids) if (t := self._book.trade(tid)))
            views.append((spec, replace(self._strategy_state(spec, now), active_trades=trades)))
        return views

    def failed_holdings(self) -> list[Trade]:
        """Failed trades still holding legs (settled at their expiry, every tick)."""
        return self._book.failed_holdings()

    # -- shutdown ------------------------------------------------------------------------
    def cancel_working_orders(self) -> int:
        """Cancel every live order we placed; trade state is left as it is (A4)."""
        return self._book.cancel_live_orders(self._dispatcher)
