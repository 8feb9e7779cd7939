"""The venue's raw records: orders, fills, exercises, as Coincall keeps them.

These are richer than the port's domain types (Coincall trade type, state code, IV and
index at a fill, realised PnL per order) because the HTTP server serves Coincall-only
endpoints from them (order history, trade history, exercise history). `order_view`
turns a record into the domain `Order` as a client would see it *now*: fills whose report
is delayed (a control, lessons B8) are not visible yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final

from runner.domain.instruments import Instrument
from runner.domain.orders import Fill, Order, OrderStatus, Side, TimeInForce

ZERO: Final = Decimal(0)

TRADE_TYPE_LIMIT: Final = 1
TRADE_TYPE_POST_ONLY: Final = 3
TRADE_TYPE_BLOCK: Final = 14

# Domain status -> Coincall `state` code (coincall-api.md section 5).
COINCALL_STATE: Final = {
    OrderStatus.PENDING: -1,
    OrderStatus.NEW: 0,
    OrderStatus.FILLED: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.CANCELED: 3,
    OrderStatus.CANCELING: 5,
    OrderStatus.REJECTED: 6,
    OrderStatus.CANCELED_BY_EXERCISE: 10,
}


@dataclass(frozen=True, slots=True)
class SimFill:
    """One execution with the market context Coincall reports beside it."""

    fill: Fill
    trade_type: int
    iv: float
    mark: Decimal
    index: Decimal
    reported_at: datetime  # when the fill becomes visible to the client


@dataclass(slots=True)
class SimOrder:
    """An order as the venue holds it (mutable; only the venue changes it)."""

    order_id: int
    client_order_id: int | None
    instrument: Instrument
    side: Side
    qty: Decimal
    price: Decimal
    reduce_only: bool
    time_in_force: TimeInForce
    trade_type: int
    created_at: datetime
    updated_at: datetime
    status: OrderStatus = OrderStatus.NEW
    filled_qty: Decimal = ZERO
    filled_value: Decimal = ZERO
    fee: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fills: list[SimFill] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def avg_price(self) -> Decimal:
        return self.filled_value / self.filled_qty if self.filled_qty else ZERO

    @property
    def state_code(self) -> int:
        return COINCALL_STATE[self.status]


@dataclass(frozen=True, slots=True)
class ExerciseRecord:
    """One position settled at expiry (Coincall's exercise history row)."""

    symbol: str
    at: datetime
    qty: Decimal  # signed: long > 0
    strike: Decimal
    settlement_price: Decimal
    intrinsic_value: Decimal
    net_cash_flow: Decimal
    fee: Decimal
    realized_pnl: Decimal


def order_view(order: SimOrder, now: datetime) -> Order:
    """The domain view of an order at `now` (delayed fills not yet visible)."""
    visible = [f.fill for f in order.fills if f.reported_at <= now]
    filled = sum((f.qty for f in visible), ZERO)
    value = sum((f.qty * f.price for f in visible), ZERO)
    fee = sum((f.fee for f in visible), ZERO)
    return Order(
        order_id=order.order_id, client_order_id=order.client_order_id, symbol=order.symbol,
        side=order.side, qty=order.qty, filled_qty=filled, price=order.price,
        avg_price=value / filled if filled else ZERO,
        status=_visible_status(order.status, filled, order.qty),
        reduce_only=order.reduce_only, fee=fee,
        created_at=order.created_at, updated_at=order.updated_at,
    )


def _visible_status(status: OrderStatus, visible_filled: Decimal, qty: Decimal) -> OrderStatus:
    if status not in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
        return status
    if visible_filled >= qty:
        return OrderStatus.FILLED
    return OrderStatus.PARTIALLY_FILLED if visible_filled > 0 else OrderStatus.NEW
