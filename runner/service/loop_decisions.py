"""The service's decisions: each strategy's entry and exits against the tick's snapshot,
held trades whose strategy file changed, opens, closes and settlements.

A mixin of `Service` (runner/service/loop.py), split out to keep each module readable; it
reads and writes the service's own attributes and runs on the loop thread only.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from runner.domain.instruments import Underlying
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeStage
from runner.engine.decide import (
    CloseDecision,
    Decision,
    OpenDecision,
    decide,
    exit_decisions,
    new_trade,
)
from runner.engine.gates import EntryGates
from runner.engine.moments import on_check_grid
from runner.engine.state import StrategyState
from runner.exchange.errors import ExchangeError
from runner.execution import start_close
from runner.reconcile.settlement import expired_series, read_exercises, settle_trade
from runner.service.held_rules import faithful_origin
from runner.service.read_plan import chains_to_price
from runner.service.tick_report import TickReport
from runner.service.tracking import with_launch
from runner.strategy.model import StrategySpec


class DecisionSteps:
    """Deciding entries and exits (see the module doc)."""

    def _decide_strategy(self, spec: StrategySpec, snapshot: MarketSnapshot, now: datetime,
                         report: TickReport) -> None:
        state = self._states.get(spec.name) or self._strategy_state(spec, now)
        due = (on_check_grid(spec.timing, state.last_entry_check, now)
               if self.checks_on_grid else None)
        decision = decide(spec, state, snapshot, now,
                          held_elsewhere=self.held.held_ids(spec.name), due=due,
                          gates=self._known_gates(spec, state, now))
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

    def _known_gates(self, spec: StrategySpec, state: StrategyState,
                     now: datetime) -> EntryGates | None:
        """The entry gates this tick's read plan worked out for `spec` (Service._entering),
        when they were worked out from this very state at this moment; else None (the
        decision works them out: the state was derived again, or this is another moment)."""
        known = self._tick_gates.get(spec.name)
        if known is None or known[0] is not state or known[1] != now:
            return None
        return known[2]

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
        snapshot = self._reader.with_chains(snapshot, chains_to_price(trade, snapshot, now))
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
