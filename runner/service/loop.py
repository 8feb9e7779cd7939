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

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from runner.domain.clock import Clock
from runner.domain.commands import Event, OrderPurpose
from runner.domain.instruments import Underlying
from runner.domain.snapshot import MarketSnapshot, Position
from runner.domain.trades import Trade, TradeStage
from runner.engine.decide import (
    CloseDecision,
    Decision,
    OpenDecision,
    decide,
    exit_decisions,
    new_trade,
)
from runner.engine.expiries import expiries_needed, held_expiries
from runner.engine.exposure import uses_account_delta
from runner.engine.moments import on_check_grid
from runner.engine.state import StrategyState
from runner.engine.wakeup import gates_open, next_entry_opportunity
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange
from runner.execution import advance, budget_spent, start_close, start_open
from runner.execution.entry_index import with_entry_index_at_open
from runner.reconcile.resync import missed_events
from runner.reconcile.settlement import expired_series, read_exercises, settle_trade
from runner.service.alerts import Alerter, AlertLevel
from runner.service.attention import Attention, Concern
from runner.service.control import ControlDesk
from runner.service.held_rules import HeldRules, faithful_origin, resolve_held_rules
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
from runner.service.tracking import ExecutionBook, with_launch
from runner.service.watch import MarketWatch
from runner.strategy.model import LimitExecution, StrategySpec
from runner.strategy.origin import SpecOrigin

MAX_FAILED_TICKS: Final = 10
# A saved open interrupted before its first order is started again only while its
# decision is fresh; later the market and the windows it was decided in have moved on.
RESUME_OPEN_WITHIN: Final = timedelta(seconds=60)
PRUNE_EVERY: Final = timedelta(hours=1)  # forget old finished trades (memory stays flat)


class TooManyFailures(RuntimeError):
    """The loop failed MAX_FAILED_TICKS times in a row: exit so the supervisor restarts us."""


@dataclass(slots=True)
class TickReport:
    """What one tick did, for logs, the heartbeat and simulations."""

    at: datetime
    decisions: list[Decision] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    closing: list[str] = field(default_factory=list)
    finished: list[Trade] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    strategy_errors: list[tuple[str, str]] = field(default_factory=list)
    snapshot_failures: tuple[str, ...] = ()
    entries_blocked: bool = False  # the exchange is unreachable (lessons C4)
    # (strategy, why): an entry the engine wanted but an open concern held back
    blocked_entries: list[tuple[str, str]] = field(default_factory=list)


Listener = Callable[[str, dict[str, object]], None]


class Service:
    """Runs the strategies against one exchange, one store and one clock."""

    def __init__(self, specs: Sequence[StrategySpec], *, exchange: Exchange, store: object,
                 dispatcher: object, clock: Clock, launch: datetime,
                 listener: Listener | None = None, alerter: Alerter | None = None) -> None:
        # Every valid strategy is decided each tick: a disabled one opens nothing, but the
        # trades it still holds keep their exits and closes (lessons A3).
        self.all_specs = tuple(specs)
        self.specs = tuple(spec for spec in specs if spec.enabled)
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
        self._stop = threading.Event()
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

    # -- the loop ----------------------------------------------------------------------
    @property
    def reader(self) -> SnapshotReader:
        return self._reader

    def request_stop(self) -> None:
        """Ask the loop to stop after the current tick (signal handlers call this)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

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
        while not self._stop.is_set():
            if until is not None and self._clock.now() >= until:
                return
            report = self.safe_tick()
            if on_tick is not None and report is not None:
                on_tick(report)
            if not self._stop.is_set():  # slower while the exchange is unreachable (C4)
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
        read = self._reader.read(needs, now, listed)
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
        underlyings = frozenset(spec.underlying for spec in self.all_specs) | frozenset(
            leg.underlying for spec in self.all_specs for leg in spec.legs)
        # Chains only for strategies that could open now, plus the trades in flight that
        # need prices: a strategy whose gates are closed reads nothing (design 2, issue 11).
        entering = [spec for spec in self.all_specs
                    if gates_open(spec, self._states[spec.name], now)]
        listed = {u: self._reader.listed_expiries(u, now) for u in sorted(underlyings_of(
            entering))}
        trades = self._book.active_trades()
        wants = [trade_needs(self._rules_for(t), t, self._launch_of(t), now) for t in trades]
        entry_chains = frozenset(expiries_needed(entering, listed, now))
        operator_waits = bool(trades) and self.control.has_pending()
        demand = Demand(
            underlyings=underlyings, entry_chains=entry_chains,
            entry_underlyings=underlyings_of(entering) | {u for u, _ in entry_chains},
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
        return self._planner.plan(demand, now), listed

    def _launch_of(self, trade: Trade) -> datetime:
        state = self._states.get(trade.strategy)
        return state.launch if state is not None else self.launch

    def _held_chains(self, entering: list[StrategySpec],
                     now: datetime) -> set[tuple[Underlying, datetime]]:
        """Chains of the positions last seen, when an account delta rule will be evaluated:
        it decides on chain delta x position qty, never on the exchange's greeks."""
        positions = self._positions_seen
        names = {t.strategy for t in self._book.active_trades()} | {s.name for s in entering}
        wanted = [spec for spec in self.all_specs if spec.name in names]
        if not positions or not any(map(uses_account_delta, wanted)):
            return set()
        return held_expiries((p.symbol for p in positions), now)

    # -- executions ----------------------------------------------------------------------
    def _advance_executions(self, snapshot: MarketSnapshot, events: list[Event],
                            now: datetime, report: TickReport) -> None:
        for trade_id in self._book.working_trade_ids():
            trade, state = self._book.get(trade_id)
            try:
                step = advance(state, trade, snapshot, events, now)
            except Exception as error:
                report.strategy_errors.append((trade.strategy, repr(error)))
                self._listener("execution_failed", {"trade": trade_id, "error": repr(error)})
                continue
            self._learn_ticks(trade_id, step.learned_ticks)
            rules = self._rules_for(trade)  # the index at entry is the fill's (E7)
            stepped = with_entry_index_at_open(trade, step.trade, snapshot,
                                               rules.underlying if rules else None)
            self._apply(stepped, step.state, step.commands, step.alerts, report, step.notes)

    def _learn_ticks(self, trade_id: str, learned: Sequence[tuple[str, Decimal]]) -> None:
        for symbol, tick in learned:
            if tick > self.learned_ticks.get(symbol, Decimal(0)):
                self.learned_ticks[symbol] = tick
                self._listener("tick_learned", {"trade": trade_id, "symbol": symbol,
                                                "tick": str(tick)})

    def _work_unworked(self, snapshot: MarketSnapshot, now: datetime,
                       report: TickReport) -> None:
        """Trades in flight with no execution (a kill between two saves, an unfinished
        flatten) are worked again: a recent open that never sent an order is started (its
        intent was durable, A1), an old one fails; anything that may hold something is
        closed (reduce-only, never more than is held)."""
        for trade in self._book.unworked_trades():
            if trade.stage is TradeStage.PENDING_OPEN:
                # Opened by the rules it was decided with, while its strategy still runs.
                current = self._specs_by_name.get(trade.strategy)
                rules = self._rules_for(trade) if current and current.enabled else current
                self._resume_open(trade, rules, snapshot, now, report)
                continue
            spec = self._rules_for(trade)
            close_spec = spec.execution.close if spec else LimitExecution()
            step = start_close(trade, close_spec, trade.exit_reason or "resumed", snapshot, now)
            self._apply(step.trade, step.state, step.commands, step.alerts, report, step.notes)

    def _settle_failed_holdings(self, now: datetime) -> None:
        """A FAILED trade still holding legs that have expired is booked as settled, so the
        store never claims positions the exchange has settled (R-C4, G1)."""
        for trade in self._book.failed_holdings():
            series = expired_series(trade, now)
            if not series:
                continue
            prices = {item: self._delivery_price(trade, *item) for item in series}
            settled = settle_trade(trade, prices, now,
                                   read_exercises(self._exchange, trade, prices, now))
            if settled != trade:
                self._book.save(settled, None)
                self._listener("settled_after_failure", {"trade": trade.trade_id,
                                                         "strategy": trade.strategy})

    def _renew_expired_closes(self, snapshot: MarketSnapshot, now: datetime,
                              report: TickReport) -> None:
        """A close whose budget ran out while the process was down starts again (R-C5):
        downtime is not an attempt (B1 bounds attempts). Once, on the first tick after a
        resume; its live orders are inherited and cancelled, its reason kept."""
        renew, self._closes_to_renew = self._closes_to_renew, set()
        for trade_id in renew:
            if trade_id not in self._book.working_trade_ids():
                continue
            trade, state = self._book.get(trade_id)
            if not budget_spent(state, now):
                continue
            spec = self._rules_for(trade)
            close_spec = spec.execution.close if spec else LimitExecution()
            step = start_close(trade, close_spec, state.reason, snapshot, now, previous=state)
            self._apply(step.trade, step.state, step.commands, step.alerts, report, step.notes)

    def _rules_for(self, trade: Trade) -> StrategySpec | None:
        """The rules that manage a trade: its stored copy when that differs, else its file."""
        return self.held.copy_for(trade.trade_id) or self._specs_by_name.get(trade.strategy)

    def _resume_open(self, trade: Trade, spec: StrategySpec | None, snapshot: MarketSnapshot,
                     now: datetime, report: TickReport) -> None:
        if spec is None or not spec.enabled or now - trade.created_at > RESUME_OPEN_WITHIN:
            failed = trade.moved_to(TradeStage.FAILED, "interrupted before any order was sent;"
                                    " too old to open now", now)
            self._apply(failed, None, (), (), report)
            return
        self._start_open(spec, trade, snapshot, now, report)

    def _start_open(self, spec: StrategySpec, trade: Trade, snapshot: MarketSnapshot,
                    now: datetime, report: TickReport) -> None:
        """Start a saved PENDING_OPEN trade; an executor error fails it, never blocks it."""
        try:
            step = start_open(trade, spec.execution.open, snapshot, now)
        except Exception as error:  # a broken open must never hold the strategy's slot
            failed = trade.moved_to(TradeStage.FAILED, f"the open could not start: {error!r}",
                                    now)
            self._apply(failed, None, (), (), report)
            report.strategy_errors.append((spec.name, repr(error)))
            return
        self._apply(step.trade, step.state, step.commands, step.alerts, report, step.notes)

    def _apply(self, trade: Trade, state: object, commands: Sequence[object],
               alerts: Sequence[str], report: TickReport, notes: Sequence[str] = ()) -> None:
        """Persist the step first, then send its commands (intents are written by dispatch)."""
        previous = self._book.trade(trade.trade_id)
        self._book.save(trade, state)
        if previous is None or previous.stage is not trade.stage:
            self._listener("trade_stage", {"trade": trade.trade_id, "strategy": trade.strategy,
                                           "stage": trade.stage.value,
                                           "reason": trade.transitions[-1].reason,
                                           **_failure_of(trade)})
        for note in notes:
            self._listener("execution_note", {"trade": trade.trade_id,
                                              "strategy": trade.strategy, "text": note})
        for alert in alerts:
            report.alerts.append(alert)
            self._page(trade, alert)
        if trade.stage.is_terminal:
            report.finished.append(trade)
        if commands:
            self._pending_events.extend(self._dispatcher.execute(commands))

    def _on_concern(self, concern: Concern, raised: bool) -> None:
        """A concern raised or cleared is logged once; one that blocks entries is paged."""
        self._listener("concern_raised" if raised else "concern_cleared",
                       {"strategy": concern.strategy or "-", "key": concern.key,
                        "text": concern.text, "blocks_entries": concern.blocks_entries})
        if not concern.blocks_entries or self._alerter is None:
            return
        if raised:
            self._alerter.alert(f"concern.{concern.key}", concern.line(),
                                level=AlertLevel.CRITICAL, strategy=concern.strategy)
        else:
            self._alerter.recover(f"concern.{concern.key}", f"resolved: {concern.text}",
                                  strategy=concern.strategy)

    def _page(self, trade: Trade, text: str) -> None:
        """An execution alert (B1: a close that gave up) reaches every alert channel.

        Keyed per trade, so two trades' pages never de-duplicate each other.
        """
        self._listener("alert", {"trade": trade.trade_id, "text": text})
        if self._alerter is not None:
            self._alerter.alert(f"trade.{trade.trade_id}", text, level=AlertLevel.CRITICAL,
                                strategy=trade.strategy)

    # -- decisions -----------------------------------------------------------------------
    def _decide_strategy(self, spec: StrategySpec, snapshot: MarketSnapshot, now: datetime,
                         report: TickReport) -> None:
        state = self._states.get(spec.name) or self._strategy_state(spec, now)
        due = (on_check_grid(spec.timing, state.last_entry_check, now)
               if self.checks_on_grid else None)
        decision = decide(spec, state, snapshot, now,
                          held_elsewhere=self.held.held_ids(spec.name), due=due)
        if decision.entry_checked:
            self._last_entry_check[spec.name] = now
        report.decisions.append(decision)
        self._tell_unresolved(decision)
        closes = decision.closes
        if self.reacting and not decision.entry_checked:  # a push woke the loop for these
            others = frozenset(t.trade_id for t in state.active_trades) - self.reacting
            closes = (*exit_decisions(spec, state, snapshot, now, skip=self.held.held_ids(
                spec.name) | others), *(c for c in closes if c.trade_id in others))
        for close in closes:
            self._close(spec, close, snapshot, now, report)
        if decision.open is None or report.entries_blocked:
            return
        blocked = self.attention.entry_block(spec.name)
        if blocked is not None:
            report.blocked_entries.append((spec.name, blocked))
            return
        self._open(spec, decision.open, snapshot, now, report)

    def _tell_unresolved(self, decision: Decision) -> None:
        """Why an open window trades nothing: once per window, leg and kind (issue 7)."""
        unresolved = decision.unresolved
        if unresolved is None or self._told_unresolved.get(decision.strategy) == unresolved.key:
            return
        self._told_unresolved[decision.strategy] = unresolved.key
        self._listener("legs_unresolved", {"strategy": decision.strategy,
                                           "window": unresolved.window.isoformat(),
                                           "reason": unresolved.text})

    def _decide_held(self, snapshot: MarketSnapshot, now: datetime, report: TickReport) -> None:
        """Exits of the trades managed from the strategy copy they opened with."""
        for spec, trade_ids in self.held.copies():
            trades = tuple(t for tid in sorted(trade_ids) if (t := self._book.trade(tid)))
            if not trades:
                continue
            state = replace(self._strategy_state(spec, now), active_trades=trades)
            market = self._held_market_due(spec, now) or not self.reacting.isdisjoint(trade_ids)
            try:
                for close in exit_decisions(spec, state, snapshot, now, market=market):
                    self._close(spec, close, snapshot, now, report)
            except Exception as error:  # isolated like any strategy
                report.strategy_errors.append((spec.name, repr(error)))
                self._listener("strategy_failed", {"strategy": spec.name, "error": repr(error)})

    def _held_market_due(self, spec: StrategySpec, now: datetime) -> bool:
        """A held copy's market exits are evaluated when its strategy was checked this
        tick; a copy whose strategy file is gone keeps its own check interval."""
        last = self._last_entry_check.get(spec.name)
        if spec.name in self._specs_by_name:
            return last == now
        due = last is None or now - last >= spec.timing.check_interval
        if due:
            self._last_entry_check[spec.name] = now
        return due

    def exits_due(self, snapshot: MarketSnapshot, now: datetime) -> dict[str, str]:
        """Trades an exit (or settlement) would close on `snapshot`, with why: the feed asks
        between ticks on the loop thread, then a tick decides and sends; nothing is sent here."""
        view = self.watch.fresh_view(snapshot)
        due: dict[str, str] = {}
        for spec in self.all_specs:
            state = self._strategy_state(spec, now)
            if state.active_trades:
                due.update((c.trade_id, f"{c.reason}: {c.detail}") for c in exit_decisions(
                    spec, state, view, now, skip=self.held.held_ids(spec.name)))
        for spec, trade_ids in self.held.copies():
            trades = tuple(t for tid in sorted(trade_ids) if (t := self._book.trade(tid)))
            state = replace(self._strategy_state(spec, now), active_trades=trades)
            due.update((c.trade_id, f"{c.reason}: {c.detail}")
                       for c in exit_decisions(spec, state, view, now))
        return due

    def _strategy_state(self, spec: StrategySpec, now: datetime) -> StrategyState:
        return self._book.strategy_state(spec, self.launch, now,
                                         self._last_entry_check.get(spec.name))

    def launch_for(self, spec: StrategySpec, now: datetime) -> datetime:
        """The launch this strategy's cycles count from (a restart resumes a schedule, A1)."""
        return self._book.launch_for(spec, self.launch, now)

    def _open(self, spec: StrategySpec, decision: OpenDecision, snapshot: MarketSnapshot,
              now: datetime, report: TickReport) -> None:
        trade_id = self._book.next_trade_id(spec.name, now)
        launch = self._book.launch_for(spec, self.launch, now)
        trade = with_launch(new_trade(spec, decision, trade_id, snapshot, now), launch)
        # Durable before any order exists (A1), with the rules it opens with (issue 7).
        if spec.name not in self._origins:
            self._origins[spec.name] = faithful_origin(spec)
        self._book.save_opening(trade, self._origins[spec.name])
        report.opened.append(trade_id)
        self._listener("trade_created", {"trade": trade_id, "strategy": spec.name,
                                         "legs": [leg.symbol for leg in trade.legs]})
        self._start_open(spec, trade, snapshot, now, report)

    def _close(self, spec: StrategySpec, close: CloseDecision, snapshot: MarketSnapshot,
               now: datetime, report: TickReport) -> None:
        trade = self._book.trade(close.trade_id)
        if trade is None or trade.stage.is_terminal:
            return
        trade = trade.with_exit_reason(close.reason)
        if close.settle_at_expiry:
            self._settle(trade, snapshot, now, report)
            return
        if trade.stage is not TradeStage.OPEN:
            return
        trade = trade.moved_to(TradeStage.PENDING_CLOSE, f"{close.reason}: {close.detail}", now)
        report.closing.append(trade.trade_id)
        step = start_close(trade, spec.execution.close, close.reason, snapshot, now)
        self._apply(step.trade, step.state, step.commands, step.alerts, report, step.notes)

    def _settle(self, trade: Trade, snapshot: MarketSnapshot, now: datetime,
                report: TickReport) -> None:
        """Expiry is a lifecycle event: cancel what works, book intrinsic value (G1).

        Intrinsic value is measured against the exchange's delivery price (G2), read once
        per expired (underlying, expiry) of the trade per tick, never against the
        snapshot's index. Not published yet, or unreadable now: the trade is left as it
        is and settled on a later tick. A leg that expired in the money also waits for its
        exercise fee from the exchange's history, within settlement.EXERCISE_FEE_WAIT (E6).
        """
        del snapshot  # the settlement price is the exchange's, not a tick's index
        self._book.cancel_live_orders(self._dispatcher, reason="expiry", trade_id=trade.trade_id)
        prices = {series: self._delivery_price(trade, *series)
                  for series in expired_series(trade, now)}
        settled = settle_trade(trade, prices, now,
                               read_exercises(self._exchange, trade, prices, now))
        self._apply(settled, None, (), (), report)

    def _delivery_price(self, trade: Trade, underlying: Underlying,
                        expiry: datetime) -> Decimal | None:
        try:
            return self._exchange.delivery_price(underlying, expiry)
        except ExchangeError as error:
            self._listener("settlement_deferred", {"trade": trade.trade_id,
                                                   "expiry": expiry.isoformat(),
                                                   "error": repr(error)})
            return None

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


def _failure_of(trade: Trade) -> dict[str, str]:
    """A failed trade's log line says why it failed (issue 12 item 3)."""
    if trade.stage is TradeStage.FAILED and trade.failure_reason:
        return {"failure_reason": trade.failure_reason}
    return {}
