"""The limit-order executor: one tick of opening, closing or unwinding a trade.

Each call folds the tick's order events into the trade, then, in this order: settles
an exhausted execution, finishes a completed one, enters the current phase, reprices
working orders when due, places orders for legs that have none, and re-sends cancels
that were not confirmed. It never blocks and never calls the exchange.

Invariants:
- A leg has at most one live order of this execution (lessons B2, B3). A requote is
  cancel first, place after the exchange confirms the old order final: the replacement
  is sized from the final cumulative fill (coincall-api.md pitfall 12), so a partial
  fill is kept and only the remainder is re-placed (lessons B7).
- Open = atomic: every leg needing an order is priced before any is placed (lessons
  B1); at exhaustion the filled legs are unwound (OPENING -> PENDING_CLOSE) for exactly
  what was filled, reduce-only. Close = best effort per leg (lessons B6): each leg is
  placed as soon as it can be priced; every close or unwind order is reduce-only and
  sized `open_qty`, the quantity still held, never more (lessons B1, I1).
- Bounded: the phase plan is the whole budget; time spent waiting to learn whether a
  lost order exists is not counted (`runner.execution.pause`). Past it, working orders
  are cancelled and the decision waits at least one more tick for late fill reports (grace, lessons
  B8); an unfinished close then goes on as a retry, one round of its most aggressive
  phase a minute, never abandoned (lessons B1; the rule is in `runner.execution.retry`).
- Within a phase a reprice never moves against us and a move below the threshold is
  skipped (lessons B9, B10); a phase change may step the price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from runner.domain.commands import (
    CancelOrder,
    Command,
    Event,
    OrderKey,
    OrderPurpose,
    PlaceOrder,
)
from runner.domain.instruments import effective_tick, snap_price, snap_qty
from runner.domain.orders import OrderRequest, Side
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.execution.fills import apply_order_events
from runner.execution.pause import pause_budget
from runner.execution.phases import (
    guards_of,
    phase_end,
    phase_index,
    phase_plan,
    rounds_of,
    unwind_spec,
)
from runner.execution.pricing import (
    Priced,
    PriceOutcome,
    Unpriced,
    held_direction,
    leg_market,
    limit_price,
    moved_enough,
)
from runner.execution.retry import (
    close_exhausted_at,
    mark_exhausted,
    next_round,
    retry_spec,
    retry_state,
)
from runner.execution.state import (
    ExecutionState,
    LegProgress,
    LimitProgress,
    OrderState,
    Step,
    TrackedOrder,
)
from runner.execution.truncation import changed_prices
from runner.execution.wording import fills_text, held_text, trade_leg
from runner.strategy.model import LimitLike

CANCEL_RESEND_AFTER: Final = timedelta(seconds=5)
# A cancelled order missing from the exchange's open orders this long is taken as final:
# its last report was lost (a crash between dispatch and the next step); the store's
# recovery credits its fills from the ledger, so only the bookkeeping is missing.
PRESUME_FINAL_AFTER: Final = timedelta(seconds=30)
CANCEL_ALERT_AFTER_SENDS: Final = 6
ATTEMPTS_PER_EXECUTION: Final = 1000


def attempt_base(trade: Trade) -> int:
    """First attempt number of an execution that starts now (never reused in a trade)."""
    return len(trade.transitions) * ATTEMPTS_PER_EXECUTION


def new_limit_progress(trade: Trade, spec: LimitLike, now: datetime, first_attempt: int,
                       inherited: tuple[TrackedOrder, ...] = ()) -> LimitProgress:
    """A fresh limit execution at phase 0; inherited orders are counted from their view."""
    legs = tuple(LegProgress(leg.index, leg.filled_qty, leg.closed_qty) for leg in trade.legs)
    inherited = tuple(replace(o, counted_from=o.filled_qty) for o in inherited)
    return LimitProgress(spec=spec, started_at=now, legs=legs, orders=inherited,
                         next_attempt=first_attempt)


@dataclass(slots=True)
class _Tick:
    """Mutable scratch for one step; only its result leaves this module."""

    state: ExecutionState
    progress: LimitProgress
    trade: Trade
    now: datetime
    commands: list[Command] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    learned_ticks: dict[str, Decimal] = field(default_factory=dict)
    finished: bool = False

    @property
    def purpose(self) -> OrderPurpose:
        return self.state.purpose

    @property
    def opening(self) -> bool:
        return self.purpose is OrderPurpose.OPEN

    def step(self) -> Step:
        state = None if self.finished else replace(self.state, limit=self.progress)
        return Step(state, self.trade, tuple(self.commands), tuple(self.alerts),
                    tuple(self.notes), tuple(self.learned_ticks.items()))

    def move(self, stage: TradeStage, reason: str) -> None:
        if self.trade.stage is not stage:
            self.trade = self.trade.moved_to(stage, reason, self.now)


def run_limit(state: ExecutionState, trade: Trade, snapshot: MarketSnapshot,
              events: Sequence[Event], now: datetime) -> Step:
    """Advance a limit execution by one tick."""
    progress = state.limit
    if progress is None:
        raise ValueError(f"execution of {state.trade_id} has no limit progress")
    applied = apply_order_events(progress, trade, events)
    tick = _Tick(state, applied.progress, applied.trade, now, alerts=list(applied.alerts),
                 notes=list(applied.notes))
    _hold_rejected(tick, applied.rejected_legs)
    tick.progress = pause_budget(tick.progress, now)  # unknown orders cost no budget (D2)
    _presume_final(tick, snapshot)
    _requote_changed_prices(tick, snapshot)
    if tick.progress.exhausted_at is not None:
        _settle(tick, snapshot)
    elif _goal_reached(tick):
        _complete(tick)
    else:
        _work(tick, snapshot)
    return tick.step()


def _work(tick: _Tick, snapshot: MarketSnapshot) -> None:
    index = phase_index(tick.progress.spec, tick.progress.started_at, tick.now)
    if index is None:
        _exhaust(tick)
        return
    if index != tick.progress.phase or tick.progress.next_reprice_at is None:
        tick.progress = replace(tick.progress, phase=index, next_reprice_at=tick.now)
    _reprice_if_due(tick, snapshot)
    _place_missing(tick, snapshot)
    _resend_cancels(tick)


# -- goal, exhaustion, settling -------------------------------------------------------------
def _goal_reached(tick: _Tick) -> bool:
    return tick.trade.is_fully_open if tick.opening else tick.trade.is_flat


def _complete(tick: _Tick) -> None:
    """The goal is reached: cancel leftovers (an inherited resting order), then finish."""
    if tick.progress.live_orders():
        _cancel_live(tick, "goal reached")
        _resend_cancels(tick)
        return
    tick.finished = True
    if tick.opening:
        tick.move(TradeStage.OPEN, f"all legs filled: {fills_text(tick.trade, opening=True)}")
    elif tick.purpose is OrderPurpose.UNWIND:
        tick.move(TradeStage.FAILED, "open failed; its filled legs were unwound")
    else:
        tick.move(TradeStage.CLOSED, f"every leg closed ({tick.state.reason}):"
                                     f" {fills_text(tick.trade, opening=False)}")


def _exhaust(tick: _Tick) -> None:
    rounds = rounds_of(tick.progress.spec)
    tick.notes.append(f"trade {tick.trade.trade_id}: {tick.purpose.value} used its {rounds}"
                      " pricing rounds; cancelling working orders, one more tick for late fills")
    tick.progress = replace(tick.progress, exhausted_at=tick.now)
    _cancel_live(tick, "attempts exhausted")


def _settle(tick: _Tick, snapshot: MarketSnapshot) -> None:
    """Exhausted: wait for every cancel to be confirmed and at least one more tick (B8)."""
    if tick.progress.live_orders():
        _cancel_live(tick, "attempts exhausted")
        _resend_cancels(tick)
        return
    exhausted_at = tick.progress.exhausted_at
    if exhausted_at is None or tick.now <= exhausted_at:
        return  # the grace tick: a fill reported one tick late still counts
    if _goal_reached(tick):
        _complete(tick)
    elif tick.opening:
        _fail_open(tick, snapshot)
    else:
        _retry_close(tick, snapshot)


def _fail_open(tick: _Tick, snapshot: MarketSnapshot) -> None:
    missing = ", ".join(f"leg {leg.index} {leg.filled_qty}/{leg.qty}"
                        for leg in tick.trade.legs if not leg.is_filled)
    rounds = rounds_of(tick.progress.spec)
    if tick.trade.is_flat:
        tick.finished = True
        tick.move(TradeStage.FAILED, f"open failed after {rounds} rounds, nothing filled"
                                     f" ({missing})")
        return
    held = held_text(tick.trade)
    tick.move(TradeStage.PENDING_CLOSE, f"open failed after {rounds} rounds ({missing});"
                                        f" unwinding {held}")
    tick.alerts.append(f"trade {tick.trade.trade_id}: open failed ({missing}); unwinding {held}")
    unwind = ExecutionState(trade_id=tick.trade.trade_id, purpose=OrderPurpose.UNWIND,
                            reason="unwind", started_at=tick.now,
                            attempt_base=attempt_base(tick.trade))
    progress = new_limit_progress(tick.trade, unwind_spec(tick.progress.spec), tick.now,
                                  unwind.attempt_base)
    tick.state, tick.progress = unwind, progress
    _work(tick, snapshot)


def _retry_close(tick: _Tick, snapshot: MarketSnapshot) -> None:
    """Budget used, legs still held: the close goes on, a round a minute (`retry`)."""
    if close_exhausted_at(tick.trade) is None:
        tick.trade = mark_exhausted(tick.trade, tick.state, tick.progress.spec, tick.now)
        tick.notes.append(f"trade {tick.trade.trade_id}: {tick.trade.transitions[-1].reason}")
    else:
        tick.trade = next_round(tick.trade, tick.now)
    first_attempt = max(attempt_base(tick.trade), tick.progress.next_attempt)
    tick.progress = new_limit_progress(tick.trade, retry_spec(tick.progress.spec), tick.now,
                                       first_attempt)
    tick.state = retry_state(tick.state, tick.trade, tick.now, tick.progress)
    _work(tick, snapshot)


# -- repricing and placing ------------------------------------------------------------------
def _reprice_if_due(tick: _Tick, snapshot: MarketSnapshot) -> None:
    progress = tick.progress
    if progress.next_reprice_at is None or tick.now < progress.next_reprice_at:
        return
    phase = phase_plan(progress.spec)[progress.phase]
    next_at = min(tick.now + phase.requote_interval,
                  phase_end(progress.spec, progress.started_at, progress.phase))
    tick.progress = replace(progress, next_reprice_at=next_at)
    threshold = guards_of(progress.spec).reprice_threshold_pct
    for order in progress.orders:
        if order.state is not OrderState.WORKING or order.cancel_sent_at is not None:
            continue
        outcome = _leg_price(tick, trade_leg(tick.trade, order.key.leg_index), order.side,
                             snapshot)
        if isinstance(outcome, Priced) and moved_enough(outcome.price, order.price, threshold):
            _cancel(tick, order, f"requote {order.price} -> {outcome.price}")


def _place_missing(tick: _Tick, snapshot: MarketSnapshot) -> None:
    wanted = [(leg, qty) for leg in tick.trade.legs
              if (qty := _qty_to_place(tick, leg, snapshot)) > 0 and _may_place(tick, leg)]
    priced: list[tuple[TradeLeg, Decimal, Decimal]] = []
    unpriced: list[str] = []
    for leg, qty in wanted:
        outcome = _leg_price(tick, leg, _side(tick, leg), snapshot)
        if isinstance(outcome, Unpriced):
            unpriced.append(outcome.why)
            tick.progress = tick.progress.with_leg(replace(tick.progress.leg(leg.index),
                                                           unpriced=outcome.why))
        else:
            priced.append((leg, qty, outcome.price))
    if unpriced:
        tick.notes.append(f"trade {tick.trade.trade_id}: not priced: {'; '.join(unpriced)}")
        if tick.opening:
            return  # B1: an open places nothing until every leg it needs can be priced
    for leg, qty, price in priced:
        _place(tick, leg, qty, price)


def _qty_to_place(tick: _Tick, leg: TradeLeg, snapshot: MarketSnapshot) -> Decimal:
    lot = leg_market(snapshot, leg.symbol).lot
    remaining = leg.unfilled_qty if tick.opening else leg.open_qty  # never more than held
    return snap_qty(remaining, lot)


def _may_place(tick: _Tick, leg: TradeLeg) -> bool:
    if any(o.key.leg_index == leg.index for o in tick.progress.live_orders()):
        return False  # B2, B3: one live order per leg, a replacement only after the cancel
    hold = tick.progress.leg(leg.index).hold_until
    return hold is None or tick.now >= hold


def _side(tick: _Tick, leg: TradeLeg) -> Side:
    return leg.side if tick.opening else leg.close_side


def _leg_price(tick: _Tick, leg: TradeLeg, side: Side, snapshot: MarketSnapshot) -> PriceOutcome:
    progress = tick.progress
    phase = phase_plan(progress.spec)[progress.phase]
    memory = progress.leg(leg.index)
    market = leg_market(snapshot, leg.symbol)
    market = replace(market, tick=effective_tick(market.tick, memory.tick))  # truncation.py
    outcome = limit_price(market, side, phase.reference,
                          phase.offset_pct, guards_of(progress.spec), opening=tick.opening)
    if isinstance(outcome, Unpriced):
        return outcome
    last = memory.last_price if memory.price_phase == progress.phase else None
    held = held_direction(outcome.price, last, side)  # B9
    return Priced(snap_price(held, market.tick, round_up=side is Side.SELL))


def _place(tick: _Tick, leg: TradeLeg, qty: Decimal, price: Decimal) -> None:
    progress = tick.progress
    closing = not tick.opening
    key = OrderKey(tick.trade.trade_id, leg.index, tick.purpose, tick.state.reason,
                   progress.next_attempt, strategy=tick.trade.strategy)
    request = OrderRequest(symbol=leg.symbol, side=_side(tick, leg), qty=qty, price=price,
                           client_order_id=key.client_order_id, reduce_only=closing)
    order = TrackedOrder(key=key, symbol=leg.symbol, side=request.side, qty=qty, price=price,
                         reduce_only=closing, placed_at=tick.now, phase=progress.phase)
    memory = replace(progress.leg(leg.index), price_phase=progress.phase, last_price=price,
                     hold_until=None, unpriced="")
    tick.progress = replace(progress.with_order(order).with_leg(memory),
                            next_attempt=progress.next_attempt + 1)
    tick.commands.append(PlaceOrder(key, request))
    if tick.opening:
        tick.move(TradeStage.OPENING, "open orders placed")
    else:
        tick.move(TradeStage.CLOSING, f"{tick.purpose.value} orders placed"
                                      f" ({tick.state.reason})")


# -- cancels -----------------------------------------------------------------------------
def _cancel_live(tick: _Tick, reason: str) -> None:
    for order in tick.progress.live_orders():
        if order.cancel_sent_at is None:
            _cancel(tick, order, reason)


def _cancel(tick: _Tick, order: TrackedOrder, reason: str) -> None:
    tick.commands.append(CancelOrder(tick.trade.trade_id, order.client_order_id,
                                     order.order_id, reason))
    tick.progress = tick.progress.with_order(
        replace(order, cancel_sent_at=tick.now, cancel_sends=order.cancel_sends + 1,
                cancel_first_at=order.cancel_first_at or tick.now))


def _resend_cancels(tick: _Tick) -> None:
    """A cancel not confirmed after a while is sent again; after several, page someone."""
    for order in tick.progress.live_orders():
        sent = order.cancel_sent_at
        if sent is None or tick.now - sent < CANCEL_RESEND_AFTER:
            continue
        _cancel(tick, order, "cancel not yet confirmed")
        if order.cancel_sends + 1 == CANCEL_ALERT_AFTER_SENDS:
            tick.alerts.append(f"trade {tick.trade.trade_id}: order {order.client_order_id}"
                               f" ({order.symbol}) still not confirmed cancelled after"
                               f" {CANCEL_ALERT_AFTER_SENDS} cancels")


def _presume_final(tick: _Tick, snapshot: MarketSnapshot) -> None:
    if snapshot.open_orders is None:
        return  # a failed read proves nothing (lessons C5)
    working = {o.client_order_id for o in snapshot.open_orders}
    for order in tick.progress.live_orders():
        first = order.cancel_first_at
        if first is None or tick.now - first < PRESUME_FINAL_AFTER \
                or order.client_order_id in working:
            continue
        tick.progress = tick.progress.with_order(replace(
            order, state=OrderState.FINAL, message="gone from the open orders after its cancel"))
        tick.notes.append(f"trade {tick.trade.trade_id}: order {order.client_order_id} is gone"
                          " from the open orders since its cancel; taken as final")


def _requote_changed_prices(tick: _Tick, snapshot: MarketSnapshot) -> None:
    """An order resting at another price than sent: learn the tick, requote on it (see
    truncation.py for the rule)."""
    learned = {leg.symbol: memory.tick for leg in tick.trade.legs
               if (memory := tick.progress.leg(leg.index)).tick is not None}
    for found in changed_prices(tick.progress, snapshot, learned):
        order = replace(found.order, price=found.kept)
        tick.progress = tick.progress.with_order(order)
        tick.notes.append(found.describe(tick.trade.trade_id))
        if found.tick is None:
            continue
        tick.learned_ticks[order.symbol] = found.tick
        memory = tick.progress.leg(order.key.leg_index)
        tick.progress = tick.progress.with_leg(replace(
            memory, tick=found.tick, last_price=found.requote_at or found.kept))
        if found.requote_at is not None:
            _cancel(tick, order, f"requote {found.kept} -> {found.requote_at}:"
                                 f" the exchange keeps tick {found.tick}")


def _hold_rejected(tick: _Tick, legs: tuple[int, ...]) -> None:
    """A refused order is not retried at once: the leg waits for the next requote time."""
    if not legs:
        return
    phase = phase_plan(tick.progress.spec)[tick.progress.phase]
    until = max(tick.progress.next_reprice_at or tick.now, tick.now + phase.requote_interval)
    for index in set(legs):
        tick.progress = tick.progress.with_leg(replace(tick.progress.leg(index),
                                                       hold_until=until))
