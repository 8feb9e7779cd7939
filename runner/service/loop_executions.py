"""The service's execution steps: advance the working opens and closes of every trade in
flight, apply their commands through the dispatcher, settle, renew, page.

A mixin of `Service` (runner/service/loop.py), split out to keep each module readable; it
reads and writes the service's own attributes and runs on the loop thread only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from runner.domain.commands import Event
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeStage
from runner.execution import advance, budget_spent, start_close, start_open
from runner.execution.entry_index import with_entry_index_at_open
from runner.reconcile.settlement import expired_series, read_exercises, settle_trade
from runner.service.alerts import AlertLevel
from runner.service.attention import Concern
from runner.service.tick_report import TickReport
from runner.strategy.model import LimitExecution, StrategySpec

# A saved open interrupted before its first order is started again only while its
# decision is fresh; later the market and the windows it was decided in have moved on.
RESUME_OPEN_WITHIN: Final = timedelta(seconds=60)


class ExecutionSteps:
    """Advancing executions (see the module doc)."""

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


def _failure_of(trade: Trade) -> dict[str, str]:
    """A failed trade's log line says why it failed (issue 12 item 3)."""
    if trade.stage is TradeStage.FAILED and trade.failure_reason:
        return {"failure_reason": trade.failure_reason}
    return {}
