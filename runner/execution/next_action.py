"""When an execution would next act by the clock alone: where a simulation may step to.

A simulation stepping by events (service/stepping.py) must not tick every second while
orders work: most of those ticks change nothing. Between two events (a fill, an answer,
a quote) an execution acts only at moments its own state fixes, and this module names
them from that state, with the executors' own rules (limit.py, limit_tick.py, pause.py,
retry.py, rfq.py):

- a limit execution: its next reprice (`next_reprice_at`), the end of its current phase
  (the next phase, or its budget's end), a refused leg's pause ending (`hold_until`);
- an RFQ collecting quotes: its deadline (whether a quote is accepted before depends on
  the market at each tick: the caller asks `rfq_step_is_quiet` of each step it tries);
- a close's retry round that could not price any leg yet: nothing of the clock (its
  minute starts with its first order, retry.py), only the market (below).

Whenever the next tick may act (an answer awaited, a cancel not yet confirmed, an order
of unknown outcome, the budget spent, the goal reached, a leg to place, an RFQ being
created or accepted) the answer is `now`: the next tick. Every moment is a lower bound:
an early tick costs time, never a decision.

A leg the last tick could not price (a close of a deep out-of-the-money leg with no bid:
lessons B6 retries it every tick, until expiry if need be) is placed at the first tick
whose market prices it. That moment is the market's, not the state's: a caller that can
read later seconds of the market (`watching_prices`) is told which legs wait
(`price_waits`) and asks `leg_outcome` (limit.py) of each later tick itself; until it
changes (a price, or another reason) such a tick changes nothing.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from runner.domain.commands import OrderPurpose
from runner.domain.orders import Side
from runner.domain.rfq import QuoteState, RfqQuote, improvement_pct
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeLeg
from runner.execution.phases import phase_end, phase_index
from runner.execution.retry import waits_for_a_price
from runner.execution.rfq import QUOTE_EXPIRY_MARGIN, book_cost, book_gaps, judge_quotes
from runner.execution.state import (
    ExecutionState,
    LimitProgress,
    OrderState,
    RfqProgress,
    RfqStage,
    Step,
)

NEVER: Final = datetime.max.replace(tzinfo=UTC)  # nothing of the clock: a waiting retry round


@dataclass(frozen=True, slots=True)
class PriceWait:
    """A leg the last tick tried to place and could not price, and why."""

    leg: TradeLeg
    side: Side
    why: str


def next_action_at(state: ExecutionState, trade: Trade, now: datetime, *,
                   watching_prices: bool = False) -> datetime:
    """The earliest moment after the step at `now` at which advancing this execution
    without any new event could do something; `now` means the next tick. With
    `watching_prices`, a leg waiting to be priced (`price_waits`) is left to the caller."""
    if state.rfq is not None:
        return _rfq_moment(state.rfq, now)
    if state.limit is None:
        return now
    return _limit_moment(state.limit, trade, state.purpose is OrderPurpose.OPEN, now,
                         watching_prices, waits_for_a_price(state))


def price_waits(state: ExecutionState, trade: Trade, now: datetime) -> tuple[PriceWait, ...]:
    """The legs of a limit execution that wait to be priced: wanted, without an order,
    not held back, and unpriced when the tick at `now` tried them."""
    progress = state.limit
    if progress is None:
        return ()
    opening = state.purpose is OrderPurpose.OPEN
    return tuple(PriceWait(leg, leg.side if opening else leg.close_side,
                           progress.leg(leg.index).unpriced)
                 for leg in _legs_to_place(progress, trade, opening)
                 if progress.leg(leg.index).unpriced and _held_back(progress, leg, now) is None)


def _rfq_moment(rfq: RfqProgress, now: datetime) -> datetime:
    if rfq.stage is RfqStage.COLLECTING and rfq.request_id is not None:
        return rfq.deadline
    return now  # a create or an accept is answered at the next tick


def _legs_to_place(progress: LimitProgress, trade: Trade, opening: bool) -> list[TradeLeg]:
    """Legs still wanted and without a live order (placed when not held back)."""
    return [leg for leg in trade.legs
            if (leg.unfilled_qty if opening else leg.open_qty) > 0
            and not progress.live_orders(leg.index)]


def _held_back(progress: LimitProgress, leg: TradeLeg, now: datetime) -> datetime | None:
    """Until when a refused leg is held back, if past `now`."""
    hold = progress.leg(leg.index).hold_until
    return hold if hold is not None and hold > now else None


def _limit_moment(progress: LimitProgress, trade: Trade, opening: bool, now: datetime,
                  watching_prices: bool, waiting_round: bool) -> datetime:
    if progress.exhausted_at is not None or progress.unknown_since is not None:
        return now  # cancels and the grace tick (B8), or a paused budget
    if any(order.state is not OrderState.WORKING or order.cancel_sent_at is not None
           or order.outcome_unknown for order in progress.live_orders()):
        return now  # an answer or a cancel confirmation is awaited
    if trade.is_fully_open if opening else trade.is_flat:
        return now  # the goal is reached: the next tick completes it
    moments = []
    for leg in _legs_to_place(progress, trade, opening):
        hold = _held_back(progress, leg, now)
        if hold is not None:
            moments.append(hold)
        elif not (watching_prices and progress.leg(leg.index).unpriced):
            return now  # a leg without an order is placed (or priced again) every tick
    if waiting_round:
        return min(moments, default=NEVER)  # its clock starts with its first order
    index = phase_index(progress.spec, progress.started_at, now)
    if index is None or index != progress.phase or progress.next_reprice_at is None:
        return now
    moments.append(progress.next_reprice_at)
    moments.append(phase_end(progress.spec, progress.started_at, index))
    return min(moments)


def rfq_inputs(rfq: RfqProgress, snapshot: MarketSnapshot, quotes: Sequence[RfqQuote],
               at: datetime) -> Hashable:
    """All that a step of an RFQ collecting quotes reads from the market and the quotes
    at `at` (rfq.py `_judge`): the book cost of the wanted legs (or, without one, which
    sides are missing) and the quotes it can judge. From the same state, two steps with
    equal inputs are the same step."""
    book = book_cost(rfq.wanted, snapshot)
    gaps = book_gaps(rfq.wanted, snapshot) if book is None else ()
    usable = tuple(quote.quote_id for quote in quotes if quote.state is QuoteState.OPEN
                   and quote.expires_at > at + QUOTE_EXPIRY_MARGIN)
    return book, gaps, usable


def rfq_quiet_between(rfq: RfqProgress, quotes: Sequence[RfqQuote], at: datetime,
                      lowest: Decimal, highest: Decimal) -> bool:
    """Whether every step of an RFQ collecting quotes, from `at` on while its quotes are
    these (they may only expire) and the book cost of its legs stays within [lowest,
    highest], would only refresh that book cost: no accept (no usable quote meets the
    minimum improvement), no new best improvement, no quote seen for the first time.

    Why the ends suffice (rfq.py `_judge`): for one book cost the cheapest usable quote
    improves on it most, and its improvement `(book - cost) / |book|` is monotone in the
    book cost while the cost keeps its sign (and correctly rounded operations keep it
    so); quotes that expire leave dearer ones. A stretch whose book may cost nothing
    (no improvement then) is not judged here."""
    if rfq.stage is not RfqStage.COLLECTING or lowest <= 0 <= highest:
        return False
    judged = judge_quotes(quotes, rfq.wanted, None, at, rfq.refused_quotes)
    if not judged:
        return True
    if rfq.best_improvement is None or any(
            entry.quote.quote_id not in rfq.quotes_seen for entry in judged):
        return False
    cheapest = judged[0].cost
    ends = [improvement_pct(book, cheapest) for book in (lowest, highest)]
    most = max(end for end in ends if end is not None)
    return most < rfq.spec.min_improvement_pct and most <= rfq.best_improvement


def rfq_step_is_quiet(before: ExecutionState, step: Step, trade: Trade) -> bool:
    """Whether a step of an RFQ collecting quotes only refreshed its running figures (the
    book baseline and the best improvement seen, kept for the failure reason): no command,
    no alert, no change to the trade nor to anything else of the execution."""
    after = step.state
    if step.commands or step.alerts or step.trade != trade or after is None:
        return False
    if before.rfq is None or after.rfq is None:
        return False
    figures = {"book_cost": None, "best_improvement": None}
    return replace(after, rfq=replace(after.rfq, **figures)) == replace(
        before, rfq=replace(before.rfq, **figures))
