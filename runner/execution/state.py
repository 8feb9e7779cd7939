"""What an execution remembers between ticks, and the `Step` every call returns.

An execution is one attempt to open, close or unwind one trade. Its state is a frozen
value, persisted by the service after every step (`to_dict`) and rebuilt on restart
(`execution_state_from_dict`), so a crash mid-execution resumes exactly where it was.

Invariants:
- Every order an execution ever placed (or inherited from an execution it superseded,
  lessons B4) is tracked until the exchange reports it final, with the cumulative fill
  last seen, so fills are credited only once (lessons B7) and a leg never has two live
  orders (lessons B2, B3).
- Attempt numbers never repeat within a trade: they start at `attempt_base`, derived
  from the trade's transition count when the execution began, so a later execution
  can never collide with an earlier client order id or RFQ key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from runner.domain.commands import Command, OrderKey, OrderPurpose
from runner.domain.orders import Side
from runner.domain.rfq import RfqLeg
from runner.domain.trades import Trade
from runner.execution.codec import decode, encode
from runner.strategy.model import LimitLike, RfqExecution

ZERO: Final = Decimal(0)
STATE_VERSION: Final = 1


class OrderState(StrEnum):
    PENDING = "pending"  # the command went out; no answer yet (or outcome unknown)
    WORKING = "working"  # the exchange holds it
    FINAL = "final"  # filled, cancelled or rejected: its fill will not change


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    """One order of this execution and the exchange's last view of it."""

    key: OrderKey
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    reduce_only: bool
    placed_at: datetime
    phase: int
    state: OrderState = OrderState.PENDING
    order_id: int | None = None
    filled_qty: Decimal = ZERO  # cumulative, as last reported
    filled_value: Decimal = ZERO  # filled_qty x average price, as last reported
    fee: Decimal = ZERO  # cumulative, as last reported
    counted_from: Decimal = ZERO  # fill already credited before this execution tracked it
    cancel_sent_at: datetime | None = None  # the last cancel sent
    cancel_first_at: datetime | None = None  # the first cancel sent
    cancel_sends: int = 0
    message: str = ""
    outcome_unknown: bool = False  # its request's answer was lost; the dispatcher resolves it

    @property
    def client_order_id(self) -> int:
        return self.key.client_order_id

    @property
    def is_live(self) -> bool:
        return self.state is not OrderState.FINAL

    @property
    def is_opening(self) -> bool:
        return self.key.purpose is OrderPurpose.OPEN

    @property
    def counted_qty(self) -> Decimal:
        """The part of this order's fill that belongs to this execution's credit."""
        return max(ZERO, self.filled_qty - self.counted_from)


@dataclass(frozen=True, slots=True)
class LegProgress:
    """Per-leg memory: credit baselines, the phase price guard, a rejection pause."""

    index: int
    baseline_filled: Decimal  # leg.filled_qty not owed to this execution's orders
    baseline_closed: Decimal  # leg.closed_qty not owed to this execution's orders
    price_phase: int = -1  # the phase `last_price` was placed in
    last_price: Decimal | None = None  # B9: the reference for "never against us"
    hold_until: datetime | None = None  # after a rejection, wait for the next reprice
    unpriced: str = ""  # why the leg could not be priced last time (for messages)
    tick: Decimal | None = None  # a coarser tick learned from a price the exchange changed


@dataclass(frozen=True, slots=True)
class LimitProgress:
    """A limit-order execution walking its phase plan."""

    spec: LimitLike
    started_at: datetime
    legs: tuple[LegProgress, ...]
    orders: tuple[TrackedOrder, ...] = ()
    phase: int = 0
    next_reprice_at: datetime | None = None
    exhausted_at: datetime | None = None  # the budget ran out; settling (grace, B8)
    next_attempt: int = 0
    unknown_since: datetime | None = None  # an order's outcome is unknown: budget paused
    paused: timedelta = timedelta(0)  # budget time given back so far (runner.execution.pause)

    def leg(self, index: int) -> LegProgress:
        return next(leg for leg in self.legs if leg.index == index)

    def with_leg(self, leg: LegProgress) -> LimitProgress:
        return replace(self, legs=tuple(leg if old.index == leg.index else old
                                        for old in self.legs))

    def live_orders(self, leg_index: int | None = None) -> tuple[TrackedOrder, ...]:
        return tuple(o for o in self.orders if o.is_live
                     and (leg_index is None or o.key.leg_index == leg_index))

    def with_order(self, order: TrackedOrder) -> LimitProgress:
        orders = tuple(order if old.client_order_id == order.client_order_id else old
                       for old in self.orders)
        if order not in orders:
            orders = (*orders, order)
        return replace(self, orders=orders)


class RfqStage(StrEnum):
    CREATING = "creating"  # CreateRfq sent, waiting for RfqCreated / RfqFailed
    COLLECTING = "collecting"  # quotes are judged as they arrive, until the deadline
    ACCEPTING = "accepting"  # an accept is out; never sent twice, never abandoned


@dataclass(frozen=True, slots=True)
class RfqProgress:
    """A block-trade request in flight."""

    spec: RfqExecution
    fallback: LimitLike | None
    attempt: int
    wanted: tuple[RfqLeg, ...]  # our real direction per leg
    sent: tuple[RfqLeg, ...]  # as sent (a single leg always as BUY, lessons B13)
    started_at: datetime
    deadline: datetime
    stage: RfqStage = RfqStage.CREATING
    request_id: str | None = None
    quote_id: str | None = None  # the quote whose accept is out
    expected_cost: Decimal | None = None
    refused_quotes: tuple[str, ...] = ()  # accepts the exchange turned down
    book_cost: Decimal | None = None  # last orderbook baseline (B15)
    accept_sent_at: datetime | None = None
    alerted: bool = False


@dataclass(frozen=True, slots=True)
class ExecutionState:
    """One execution of one trade: which purpose, and the limit or RFQ progress."""

    trade_id: str
    purpose: OrderPurpose
    reason: str  # part of every order key (lessons B4)
    started_at: datetime
    attempt_base: int
    limit: LimitProgress | None = None
    rfq: RfqProgress | None = None
    version: int = STATE_VERSION

    @property
    def route(self) -> str:
        return "rfq" if self.rfq is not None else "limit"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the store; `execution_state_from_dict` reverses it."""
        data = encode(self)
        assert isinstance(data, dict)  # noqa: S101 - a dataclass always encodes to a dict
        return data


def execution_state_from_dict(data: dict[str, Any]) -> ExecutionState:
    """Rebuild a persisted execution state (see `ExecutionState.to_dict`)."""
    if data.get("version") != STATE_VERSION:
        raise ValueError(f"unsupported execution state version {data.get('version')!r}")
    state = decode(data, ExecutionState)
    assert isinstance(state, ExecutionState)  # noqa: S101
    return state


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one executor call."""

    state: ExecutionState | None  # None when this execution has finished
    trade: Trade  # fills credited, stage moved with reasons
    commands: tuple[Command, ...]  # for the dispatcher, in order
    alerts: tuple[str, ...] = ()  # problems to page about (B1 exhaustion ...)
    notes: tuple[str, ...] = field(default=())  # worth a log line (fallbacks, skips)
    # (symbol, tick) learned this step from a price the exchange changed (truncation.py)
    learned_ticks: tuple[tuple[str, Decimal], ...] = field(default=())
