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
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Final

from runner.domain.commands import (
    Event,
    OrderKey,
    OrderPurpose,
    PlaceOrder,
)
from runner.domain.instruments import effective_tick, snap_price, snap_qty
from runner.domain.orders import OrderRequest, Side
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.execution.failure import limit_open_why
from runner.execution.fills import apply_order_events
from runner.execution.limit_tick import (
    LimitTick,
    cancel,
    cancel_live,
    presume_final,
    resend_cancels,
)
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
    LegMarket,
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
    waits_for_a_price,
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


def run_limit(state: ExecutionState, trade: Trade, snapshot: MarketSnapshot,
              events: Sequence[Event], now: datetime) -> Step:
    """Advance a limit execution by one tick."""
    progress = state.limit
    if progress is None:
        raise ValueError(f"execution of {state.trade_id} has no limit progress")
    applied = apply_order_events(progress, trade, events)
    tick = LimitTick(state, applied.progress, applied.trade, now, alerts=list(applied.alerts),
                 notes=list(applied.notes))
    _hold_rejected(tick, applied.rejected_legs)
    tick.progress = pause_budget(tick.progress, now)  # unknown orders cost no budget (D2)
    presume_final(tick, snapshot)
    _requote_changed_prices(tick, snapshot)
    if tick.progress.exhausted_at is not None:
        _settle(tick, snapshot)
    elif _goal_reached(tick):
        _complete(tick)
    else:
        _work(tick, snapshot)
    return tick.step()


def _work(tick: LimitTick, snapshot: MarketSnapshot) -> None:
    if waits_for_a_price(tick.state):
        _place_first_retry(tick, snapshot)
        return
    index = phase_index(tick.progress.spec, tick.progress.started_at, tick.now)
    if index is None:
        _exhaust(tick)
        return
    if index != tick.progress.phase or tick.progress.next_reprice_at is None:
        tick.progress = replace(tick.progress, phase=index, next_reprice_at=tick.now)
    _reprice_if_due(tick, snapshot)
    _place_missing(tick, snapshot)
    resend_cancels(tick)


def _place_first_retry(tick: LimitTick, snapshot: MarketSnapshot) -> None:
    """A retry round places what it can price; its minute starts with its first order
    (retry.py), so a leg without a bid is tried every tick (B6) without rounds rolling."""
    _place_missing(tick, snapshot)
    progress = tick.progress
    if progress.orders:
        first = phase_plan(progress.spec)[0]
        next_at = min(tick.now + first.requote_interval, phase_end(progress.spec, tick.now, 0))
        tick.progress = replace(progress, started_at=tick.now, phase=0, next_reprice_at=next_at)


# -- goal, exhaustion, settling -------------------------------------------------------------
def _goal_reached(tick: LimitTick) -> bool:
    return tick.trade.is_fully_open if tick.opening else tick.trade.is_flat


def _complete(tick: LimitTick) -> None:
    """The goal is reached: cancel leftovers (an inherited resting order), then finish."""
    if tick.progress.live_orders():
        cancel_live(tick, "goal reached")
        resend_cancels(tick)
        return
    tick.finished = True
    if tick.opening:
        tick.move(TradeStage.OPEN, f"all legs filled: {fills_text(tick.trade, opening=True)}")
    elif tick.purpose is OrderPurpose.UNWIND:
        tick.move(TradeStage.FAILED, "open failed; its filled legs were unwound")
    else:
        tick.move(TradeStage.CLOSED, f"every leg closed ({tick.state.reason}):"
                                     f" {fills_text(tick.trade, opening=False)}")


def _exhaust(tick: LimitTick) -> None:
    rounds = rounds_of(tick.progress.spec)
    tick.notes.append(f"trade {tick.trade.trade_id}: {tick.purpose.value} used its {rounds}"
                      " pricing rounds; cancelling working orders, one more tick for late fills")
    tick.progress = replace(tick.progress, exhausted_at=tick.now)
    cancel_live(tick, "attempts exhausted")


def _settle(tick: LimitTick, snapshot: MarketSnapshot) -> None:
    """Exhausted: wait for every cancel to be confirmed and at least one more tick (B8)."""
    if tick.progress.live_orders():
        cancel_live(tick, "attempts exhausted")
        resend_cancels(tick)
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


def _fail_open(tick: LimitTick, snapshot: MarketSnapshot) -> None:
    missing = ", ".join(f"leg {leg.index} {leg.filled_qty}/{leg.qty}"
                        for leg in tick.trade.legs if not leg.is_filled)
    rounds = rounds_of(tick.progress.spec)
    why = limit_open_why(tick.trade, tick.progress)
    if tick.trade.is_flat:
        tick.trade = tick.trade.with_failure_reason(f"{why}; nothing was held")
        tick.finished = True
        tick.move(TradeStage.FAILED, f"open failed after {rounds} rounds, nothing filled"
                                     f" ({missing})")
        return
    held = held_text(tick.trade)
    tick.trade = tick.trade.with_failure_reason(f"{why}; what filled ({held}) was unwound")
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


def _retry_close(tick: LimitTick, snapshot: MarketSnapshot) -> None:
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
def _reprice_if_due(tick: LimitTick, snapshot: MarketSnapshot) -> None:
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
            cancel(tick, order, f"requote {order.price} -> {outcome.price}")


def _place_missing(tick: LimitTick, snapshot: MarketSnapshot) -> None:
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


def _qty_to_place(tick: LimitTick, leg: TradeLeg, snapshot: MarketSnapshot) -> Decimal:
    lot = leg_market(snapshot, leg.symbol).lot
    remaining = leg.unfilled_qty if tick.opening else leg.open_qty  # never more than held
    return snap_qty(remaining, lot)


def _may_place(tick: LimitTick, leg: TradeLeg) -> bool:
    if any(o.key.leg_index == leg.index for o in tick.progress.live_orders()):
        return False  # B2, B3: one live order per leg, a replacement only after the cancel
    hold = tick.progress.leg(leg.index).hold_until
    return hold is None or tick.now >= hold


def _side(tick: LimitTick, leg: TradeLeg) -> Side:
    return leg.side if tick.opening else leg.close_side


def _leg_price(tick: LimitTick, leg: TradeLeg, side: Side,
               snapshot: MarketSnapshot) -> PriceOutcome:
    progress = tick.progress
    market = _priced_market(progress, leg, snapshot)
    outcome = _phase_price(progress, market, side, opening=tick.opening)
    if isinstance(outcome, Unpriced):
        return outcome
    memory = progress.leg(leg.index)
    last = memory.last_price if memory.price_phase == progress.phase else None
    held = held_direction(outcome.price, last, side)  # B9
    return Priced(snap_price(held, market.tick, round_up=side is Side.SELL))


def leg_outcome(progress: LimitProgress, leg: TradeLeg, side: Side, snapshot: MarketSnapshot,
                *, opening: bool) -> PriceOutcome:
    """The current phase's price for one leg in this market, or why it has none (before
    B9's hold on the last price): what a tick reads when it places the leg, and what a
    simulation looking ahead at a leg waiting to be priced asks of later seconds
    (service/order_probe.py)."""
    return _phase_price(progress, _priced_market(progress, leg, snapshot), side,
                        opening=opening)


def _priced_market(progress: LimitProgress, leg: TradeLeg,
                   snapshot: MarketSnapshot) -> LegMarket:
    """The leg's market on the coarser of the listed (or learned) tick and the one this
    execution learned from its own orders (truncation.py)."""
    market = leg_market(snapshot, leg.symbol)
    return replace(market, tick=effective_tick(market.tick, progress.leg(leg.index).tick))


def _phase_price(progress: LimitProgress, market: LegMarket, side: Side, *,
                 opening: bool) -> PriceOutcome:
    phase = phase_plan(progress.spec)[progress.phase]
    return limit_price(market, side, phase.reference, phase.offset_pct,
                       guards_of(progress.spec), opening=opening)


def _place(tick: LimitTick, leg: TradeLeg, qty: Decimal, price: Decimal) -> None:
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


def _requote_changed_prices(tick: LimitTick, snapshot: MarketSnapshot) -> None:
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
            cancel(tick, order, f"requote {found.kept} -> {found.requote_at}:"
                                 f" the exchange keeps tick {found.tick}")


def _hold_rejected(tick: LimitTick, legs: tuple[int, ...]) -> None:
    """A refused order is not retried at once: the leg waits for the next requote time."""
    if not legs:
        return
    phase = phase_plan(tick.progress.spec)[tick.progress.phase]
    until = max(tick.progress.next_reprice_at or tick.now, tick.now + phase.requote_interval)
    for index in set(legs):
        tick.progress = tick.progress.with_leg(replace(tick.progress.leg(index),
                                                       hold_until=until))
