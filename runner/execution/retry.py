"""A close that used up its budget keeps the position protected: it retries, bounded by rate.

Live, 72 unbounded close retries built a naked short (lessons B1). The cure there was
bounded attempts, then FAILED and a page; but a FAILED trade that still holds legs is a
position nobody manages any more (issue 7: leftovers piled up while the strategy kept
opening). Both are kept here, in this rule:

- The close (or unwind) works its phase plan: that is its budget (B1's bounded attempts).
- When the budget is used up and something is still held, the trade does not fail. It
  moves CLOSING -> PENDING_CLOSE once with the reason, is marked exhausted (trade
  metadata `close_exhausted_at`, so the mark survives a restart), and its execution is
  renewed as a *retry*: one round of the most aggressive phase of its profile, one
  minute long (`RETRY_EVERY`). A round that ends unfilled is cancelled, settled (the
  grace tick, B8), and followed by the next round. So attempts stay bounded per window,
  one order per held leg a minute at most, and the position is never abandoned.
- A round's minute starts with its first order (`waits_for_a_price`). While no held leg
  can be priced (a deep out-of-the-money leg without a bid, for hours or days until it
  expires), the round waits and tries the legs every tick (B6); it does not roll over
  every minute doing nothing. The leg is sold at the first tick it has a bid, and that
  order gets the round's whole minute before it is requoted.
- Every retry order is reduce-only and sized to what is still held (B1, I1), like any
  close order; its key carries the reason with `RETRY_SUFFIX`, so the dispatcher counts
  it against the rate above rather than against the per-trade order cap (B2).
- The executor pages nothing per round. The service raises one concern per trade
  (`failed_close.<trade id>`, which pages once) that holds back new entries of the
  strategy while the trade is marked exhausted and holds legs, and clears it when the
  trade is flat, settled at expiry, or decided by the operator.
- A trade leaves the retry only as every trade does: CLOSED once flat (an unwind:
  FAILED once flat), settled at expiry, or by an operator decision (`runner trades
  close-externally/flatten`). FAILED never again means "still holds legs" for a close.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from runner.domain.commands import OrderPurpose
from runner.domain.trades import Trade, TradeStage
from runner.execution.phases import phase_plan, rounds_of
from runner.execution.state import ExecutionState, LimitProgress
from runner.execution.wording import held_text
from runner.strategy.model import LimitLike, Phase, PhasedLimitExecution

RETRY_EVERY: Final = timedelta(minutes=1)
RETRY_SUFFIX: Final = "+retry"
EXHAUSTED_KEY: Final = "close_exhausted_at"


def is_retry_reason(reason: str) -> bool:
    """Whether an order key's reason is that of a retrying close (see the module rule)."""
    return reason.endswith(RETRY_SUFFIX)


def close_exhausted_at(trade: Trade) -> datetime | None:
    """When this trade's close first used up its budget, or None."""
    for key, value in trade.metadata:
        if key == EXHAUSTED_KEY:
            return datetime.fromisoformat(value)
    return None


def retry_spec(spec: LimitLike) -> PhasedLimitExecution:
    """One round of the most aggressive phase of `spec`, `RETRY_EVERY` long."""
    last = phase_plan(spec)[-1]
    round_ = Phase(duration=RETRY_EVERY, requote_interval=RETRY_EVERY,
                   reference=last.reference, offset_pct=last.offset_pct)
    return PhasedLimitExecution(phases=(round_,), guards=spec.guards, profile=spec.profile)


def waits_for_a_price(state: ExecutionState) -> bool:
    """A retry round that has placed nothing yet: its clock has not started (see the rule)."""
    return (is_retry_reason(state.reason) and state.limit is not None
            and not state.limit.orders)


def retry_reason(reason: str) -> str:
    return reason if is_retry_reason(reason) else f"{reason}{RETRY_SUFFIX}"


def mark_exhausted(trade: Trade, state: ExecutionState, spec: LimitLike,
                   now: datetime) -> Trade:
    """The first exhaustion: recorded on the trade (metadata and a transition)."""
    what = "unwind" if state.purpose is OrderPurpose.UNWIND else f"close ({state.reason})"
    trade = replace(trade, metadata=(*trade.metadata, (EXHAUSTED_KEY, now.isoformat())))
    reason = (f"{what} used its budget of {rounds_of(spec)} rounds; still held:"
              f" {held_text(trade)}; retrying once a minute at the most aggressive price"
              " (lessons B1)")
    return _to_pending_close(trade, reason, now)


def next_round(trade: Trade, now: datetime) -> Trade:
    """A later round: a transition when the last one placed orders (fresh attempt ids)."""
    return _to_pending_close(trade, f"close retry: still held {held_text(trade)}", now)


def _to_pending_close(trade: Trade, reason: str, now: datetime) -> Trade:
    if trade.stage is TradeStage.CLOSING:
        return trade.moved_to(TradeStage.PENDING_CLOSE, reason, now)
    return trade


def retry_state(state: ExecutionState, trade: Trade, now: datetime,
                progress: LimitProgress) -> ExecutionState:
    """The renewed execution: same purpose, the retry reason, the next round's progress."""
    return ExecutionState(trade_id=trade.trade_id, purpose=state.purpose,
                          reason=retry_reason(state.reason), started_at=now,
                          attempt_base=progress.next_attempt, limit=progress)
