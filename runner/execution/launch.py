"""Starting a limit execution: the open's all-legs price check, and the first tick.

Shared by the public entry points and by the RFQ executor's fallback, so an open by
limit orders is judged the same way however it was reached: every leg is priced before
any order is placed (lessons B1), and an opening sell below its fair-value floor keeps
the trade from opening at all (lessons B11).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from runner.domain.commands import CancelOrder, OrderPurpose
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeStage
from runner.execution.limit import new_limit_progress, run_limit
from runner.execution.phases import guards_of, phase_plan
from runner.execution.pricing import Unpriced, leg_market, limit_price
from runner.execution.state import ExecutionState, Step, TrackedOrder
from runner.strategy.model import LimitLike

OPEN_REASON = "open"  # the reason part of every opening order key


def open_blockers(trade: Trade, spec: LimitLike, snapshot: MarketSnapshot) -> list[str]:
    """Why the legs still to fill cannot all be priced now (empty when they can)."""
    first = phase_plan(spec)[0]
    blockers = []
    for leg in trade.legs:
        if leg.is_filled:
            continue
        outcome = limit_price(leg_market(snapshot, leg.symbol), leg.side, first.reference,
                              first.offset_pct, guards_of(spec), opening=True)
        if isinstance(outcome, Unpriced):
            blockers.append(outcome.why)
    return blockers


def start_limit_open(trade: Trade, spec: LimitLike, snapshot: MarketSnapshot, now: datetime,
                     why: str, first_attempt: int, notes: tuple[str, ...] = ()) -> Step:
    """Open by limit orders, or fail at once when a leg cannot be priced."""
    trade = replace(trade, execution="limit")
    blockers = open_blockers(trade, spec, snapshot)
    if blockers:
        trade = trade.moved_to(TradeStage.FAILED, "not opened, no order placed: "
                               + "; ".join(blockers), now)
        return Step(None, trade, (), notes=notes)
    if trade.stage is TradeStage.PENDING_OPEN:
        trade = trade.moved_to(TradeStage.OPENING, f"limit orders placed ({why})", now)
    state = ExecutionState(trade_id=trade.trade_id, purpose=OrderPurpose.OPEN,
                           reason=OPEN_REASON, started_at=now, attempt_base=first_attempt,
                           limit=new_limit_progress(trade, spec, now, first_attempt))
    step = run_limit(state, trade, snapshot, (), now)
    return replace(step, notes=(*notes, *step.notes))


def start_limit_close(trade: Trade, spec: LimitLike, purpose: OrderPurpose, reason: str,
                      snapshot: MarketSnapshot, now: datetime, first_attempt: int,
                      inherited: tuple[TrackedOrder, ...] = (),
                      notes: tuple[str, ...] = ()) -> Step:
    """Close (or unwind) by limit orders, best effort per leg.

    Orders inherited from a superseded execution (a resting take-profit when the
    stop-loss fires, lessons B4) are cancelled first; a leg gets its fresh order once
    its old one is confirmed final, with the fill it reached counted.
    """
    live = tuple(o for o in inherited if o.is_live)
    cancels = tuple(CancelOrder(trade.trade_id, o.client_order_id, o.order_id,
                                f"superseded by {purpose.value} ({reason})") for o in live)
    live = tuple(replace(o, cancel_sent_at=now, cancel_sends=o.cancel_sends + 1,
                         cancel_first_at=o.cancel_first_at or now) for o in live)
    first_attempt = max([first_attempt, *(o.key.attempt + 1 for o in live)])
    state = ExecutionState(trade_id=trade.trade_id, purpose=purpose, reason=reason,
                           started_at=now, attempt_base=first_attempt,
                           limit=new_limit_progress(trade, spec, now, first_attempt, live))
    step = run_limit(state, trade, snapshot, (), now)
    return replace(step, commands=(*cancels, *step.commands), notes=(*notes, *step.notes))
