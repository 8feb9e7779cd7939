"""Trades, their legs, and the one table of allowed stage transitions.

A trade is immutable: every change returns a new Trade, and every stage change is a
`Transition` kept on the trade with its reason and time, so the store can persist
exactly what happened and why (lessons E4, E5). An illegal transition is a bug and
raises `IllegalTransition`.

Fills accumulate per leg across every order the leg ever had, with a volume-weighted
average price (lessons B7, I1): `filled_qty` is what was bought/sold to open,
`closed_qty` what was traded back to close, so a close never asks for more than is
held (`open_qty`).

Closes under loss (lessons B1; issue 7 item 8): a close's attempts are bounded per
window (its phase plan is its budget), but a close is never abandoned while it holds
legs. When the budget is used up the trade goes CLOSING -> PENDING_CLOSE once, marked
exhausted (metadata `close_exhausted_at`), and stays active: its close is retried one
round a minute at the most aggressive price, reduce-only, until it is flat (CLOSED; an
unwind: FAILED), settled at expiry (CLOSED), or decided by the operator. Meanwhile its
strategy opens nothing new. FAILED therefore holds legs only in stores written before
this rule, and those legs are still reported and settled at expiry
(runner.execution.retry).

Every FAILED trade says why, in a trader's words (`failure_reason`, issue 12 item 3): the
executor that gives an open up records the why first (`with_failure_reason`; the first
one is kept, so an unwind that follows does not hide it), and a move to FAILED without
one takes the transition's reason. So no failed trade is ever without a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from runner.domain.orders import Side

ZERO: Final = Decimal(0)


class TradeStage(StrEnum):
    PENDING_OPEN = "pending_open"  # decided and recorded, no order yet
    OPENING = "opening"  # open orders or an RFQ are working
    OPEN = "open"  # every leg filled; exits are evaluated
    PENDING_CLOSE = "pending_close"  # an exit fired; close not yet working
    CLOSING = "closing"  # close orders or an RFQ are working
    CLOSED = "closed"  # every leg flat (terminal)
    FAILED = "failed"  # gave up (terminal): an open that failed (and unwound what filled);
    # a close is never given up while it holds legs (see the module docstring); a FAILED
    # trade from an older store may still hold legs (`open_qty`), reported for an operator

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_active(self) -> bool:
        return self not in _TERMINAL


_TERMINAL: Final = frozenset({TradeStage.CLOSED, TradeStage.FAILED})


ALLOWED_TRANSITIONS: Final[dict[TradeStage, frozenset[TradeStage]]] = {
    TradeStage.PENDING_OPEN: frozenset({TradeStage.OPENING, TradeStage.OPEN, TradeStage.FAILED}),
    TradeStage.OPENING: frozenset({TradeStage.OPEN, TradeStage.PENDING_CLOSE,
                                   TradeStage.FAILED}),
    TradeStage.OPEN: frozenset({TradeStage.PENDING_CLOSE, TradeStage.CLOSED}),
    TradeStage.PENDING_CLOSE: frozenset({TradeStage.CLOSING, TradeStage.CLOSED,
                                         TradeStage.FAILED}),
    TradeStage.CLOSING: frozenset({TradeStage.PENDING_CLOSE, TradeStage.CLOSED,
                                   TradeStage.FAILED}),
    TradeStage.CLOSED: frozenset(),
    TradeStage.FAILED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A stage change the lifecycle does not allow: a bug, never an expected outcome."""


@dataclass(frozen=True, slots=True)
class Transition:
    from_stage: TradeStage | None
    to_stage: TradeStage
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TradeLeg:
    """One resolved leg and everything executed on it, across all of its orders."""

    index: int
    symbol: str
    side: Side
    qty: Decimal
    filled_qty: Decimal = ZERO
    entry_price: Decimal | None = None  # volume-weighted over opening fills
    closed_qty: Decimal = ZERO
    exit_price: Decimal | None = None  # volume-weighted over closing fills
    fees: Decimal = ZERO
    delta_at_entry: float | None = None

    @property
    def open_qty(self) -> Decimal:
        """What is held now and must be traded back to be flat (never below zero)."""
        held = self.filled_qty - self.closed_qty
        return held if held > ZERO else ZERO

    @property
    def unfilled_qty(self) -> Decimal:
        return max(ZERO, self.qty - self.filled_qty)

    @property
    def is_filled(self) -> bool:
        return self.filled_qty >= self.qty

    @property
    def close_side(self) -> Side:
        return self.side.opposite

    def with_open_fill(self, qty: Decimal, price: Decimal, fee: Decimal = ZERO) -> TradeLeg:
        """Credit an opening fill, keeping the volume-weighted entry price."""
        total = self.filled_qty + qty
        average = _weighted(self.entry_price, self.filled_qty, price, qty)
        return replace(self, filled_qty=total, entry_price=average, fees=self.fees + fee)

    def with_close_fill(self, qty: Decimal, price: Decimal, fee: Decimal = ZERO) -> TradeLeg:
        """Credit a closing fill; never more than is held."""
        if qty > self.open_qty:
            raise ValueError(f"close fill {qty} exceeds the open {self.open_qty} of {self.symbol}")
        average = _weighted(self.exit_price, self.closed_qty, price, qty)
        return replace(self, closed_qty=self.closed_qty + qty, exit_price=average,
                       fees=self.fees + fee)

    def realized_pnl(self) -> Decimal:
        """Gross PnL on the quantity closed so far (USD)."""
        if self.entry_price is None or self.exit_price is None:
            return ZERO
        return (self.exit_price - self.entry_price) * self.closed_qty * self.side.sign


def _weighted(old_price: Decimal | None, old_qty: Decimal, price: Decimal,
              qty: Decimal) -> Decimal | None:
    total = old_qty + qty
    if total <= 0:
        return old_price
    return ((old_price or ZERO) * old_qty + price * qty) / total


@dataclass(frozen=True, slots=True)
class Trade:
    """One strategy trade: its legs, stage and full history."""

    trade_id: str
    strategy: str
    stage: TradeStage
    created_at: datetime
    legs: tuple[TradeLeg, ...]
    transitions: tuple[Transition, ...] = ()
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    exit_reason: str | None = None
    cycle: int | None = None
    index_at_entry: Decimal | None = None
    execution: str = "limit"
    metadata: tuple[tuple[str, str], ...] = field(default=())
    failure_reason: str | None = None  # why a FAILED trade failed (set before or on the move)

    @classmethod
    def create(cls, trade_id: str, strategy: str, legs: tuple[TradeLeg, ...], at: datetime,
               reason: str = "entry conditions passed", **fields: object) -> Trade:
        """A new trade in PENDING_OPEN with its first transition recorded."""
        first = Transition(None, TradeStage.PENDING_OPEN, reason, at)
        return cls(trade_id=trade_id, strategy=strategy, stage=TradeStage.PENDING_OPEN,
                   created_at=at, legs=legs, transitions=(first,), **fields)  # type: ignore[arg-type]

    def moved_to(self, stage: TradeStage, reason: str, at: datetime) -> Trade:
        """Return the trade in `stage`; raises IllegalTransition for a move not in the table."""
        if stage not in ALLOWED_TRANSITIONS[self.stage]:
            raise IllegalTransition(
                f"trade {self.trade_id}: {self.stage.value} -> {stage.value} is not allowed"
                f" ({reason})"
            )
        changes: dict[str, object] = {"stage": stage,
                                      "transitions": (*self.transitions,
                                                      Transition(self.stage, stage, reason, at))}
        if stage is TradeStage.OPEN and self.opened_at is None:
            changes["opened_at"] = at
        if stage.is_terminal:
            changes["closed_at"] = at
        if stage is TradeStage.FAILED and not self.failure_reason:
            changes["failure_reason"] = reason
        return replace(self, **changes)  # type: ignore[arg-type]

    def with_leg(self, leg: TradeLeg) -> Trade:
        legs = tuple(leg if existing.index == leg.index else existing for existing in self.legs)
        return replace(self, legs=legs)

    def with_exit_reason(self, reason: str) -> Trade:
        """Record the first exit rule that fired; later rules never overwrite it (E5)."""
        return self if self.exit_reason else replace(self, exit_reason=reason)

    def with_failure_reason(self, reason: str) -> Trade:
        """Record why the open was given up; the first why is kept (an unwind follows it)."""
        return self if self.failure_reason else replace(self, failure_reason=reason)

    @property
    def is_fully_open(self) -> bool:
        return all(leg.is_filled for leg in self.legs)

    @property
    def is_flat(self) -> bool:
        return all(leg.open_qty == 0 for leg in self.legs)

    def entry_cost(self) -> Decimal:
        """Premium paid (+) or received (-) to open, summed over legs (USD)."""
        total = ZERO  # a plain loop: every holding tick asks, per PnL rule (issue 11)
        for leg in self.legs:
            total += leg.side.sign * (leg.entry_price or ZERO) * leg.filled_qty
        return total

    def fees(self) -> Decimal:
        total = ZERO
        for leg in self.legs:
            total += leg.fees
        return total

    def realized_pnl(self) -> Decimal:
        """Gross realised PnL over every leg (USD); net is this minus `fees()` (E6)."""
        return sum((leg.realized_pnl() for leg in self.legs), ZERO)

    def net_pnl(self) -> Decimal:
        """Realised PnL net of every fee paid (USD, lessons E6): the one definition the
        status, the simulation report and its summary all show."""
        return self.realized_pnl() - self.fees()
