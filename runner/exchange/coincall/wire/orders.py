"""Order requests and answers: create body, order ids, order state, open orders, fills.

Requests (coincall-api.md 6.2, pitfalls 1, 11, 13, 14): `clientOrderId` and `orderId`
are JSON integers; price and qty are JSON numbers exactly on their grid (a value that
would not survive the trip through a double is refused, never rounded here); closes
carry `reduceOnly: 1`. Answers: order `state` ints map to `OrderStatus` (section 5);
the pending list has no state, so a row is NEW or PARTIALLY_FILLED by its fill.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from runner.domain.orders import Fill, Order, OrderRequest, OrderStatus, Side
from runner.exchange.coincall import endpoints
from runner.exchange.coincall.wire.fields import Fields, listing
from runner.exchange.errors import MalformedResponse

STATUS_BY_STATE: Final = {
    -10: OrderStatus.REJECTED,  # ILLEGAL
    -1: OrderStatus.PENDING,  # PRE
    0: OrderStatus.NEW,
    1: OrderStatus.FILLED,
    2: OrderStatus.PARTIALLY_FILLED,
    3: OrderStatus.CANCELED,
    4: OrderStatus.CANCELING,  # PRE_CANCEL
    5: OrderStatus.CANCELING,
    6: OrderStatus.REJECTED,  # INVALID
    10: OrderStatus.CANCELED_BY_EXERCISE,
}
_LIMIT: Final = 1
_POST_ONLY: Final = 3
_TRADE_SIDE: Final = {Side.BUY: 1, Side.SELL: 2}


def wire_number(value: Decimal, what: str) -> int | float:
    """A Decimal as the JSON number that carries it exactly (int when integral)."""
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{what} must be a positive number, got {value}")
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    if Decimal(repr(as_float)) != value:
        raise ValueError(f"{what} {value} cannot be sent exactly as a JSON number")
    return as_float


def order_body(request: OrderRequest) -> dict[str, object]:
    """The JSON body of POST /open/option/order/create/v1 for one limit order."""
    body: dict[str, object] = {
        "symbol": request.symbol,
        "tradeSide": _TRADE_SIDE[request.side],
        "tradeType": _POST_ONLY if request.post_only else _LIMIT,
        "qty": wire_number(request.qty, "qty"),
        "price": wire_number(request.price, "price"),
        "timeInForce": request.time_in_force.value,
        "clientOrderId": int(request.client_order_id),
    }
    if request.reduce_only:
        body["reduceOnly"] = 1
    return body


def order_reference(*, order_id: int | None, client_order_id: int | None) -> dict[str, object]:
    """`{orderId}` or `{clientOrderId}` as JSON integers (cancel, single query)."""
    if (order_id is None) == (client_order_id is None):
        raise ValueError("give exactly one of order_id and client_order_id")
    if order_id is not None:
        return {"orderId": int(order_id)}
    return {"clientOrderId": int(client_order_id)}  # type: ignore[arg-type]


def order_id(data: object) -> int:
    """The order id answered by create (a number or a numeric string)."""
    name = endpoints.PLACE_ORDER.name
    if isinstance(data, dict):
        return Fields(data, name).integer("orderId")
    if isinstance(data, bool) or not isinstance(data, (int, str)) or not str(data).isdigit():
        raise MalformedResponse(f"data is not an order id ({data!r:.40})", endpoint=name)
    return int(data)


def order(data: object, endpoint: str = endpoints.SINGLE_ORDER.name) -> Order:
    """One order of singleQuery or order history (carries `state`)."""
    return _order(Fields(data, endpoint), _status(Fields(data, endpoint)))


def open_orders(data: object) -> tuple[list[Order], int]:
    """One page of the pending list and the number of pages (`pageTotal`)."""
    name = endpoints.OPEN_ORDERS.name
    rows, _ = listing(data, name)
    pages = Fields(data, name).optional_integer("pageTotal") if isinstance(data, dict) else None
    return [_order(row, _pending_status(row)) for row in rows], pages or 1


def fills(data: object) -> tuple[list[Fill], bool]:
    """One page of trade history and whether more pages follow."""
    rows, has_next = listing(data, endpoints.TRADE_HISTORY.name)
    return [_fill(row) for row in rows], has_next


def _order(row: Fields, status: OrderStatus) -> Order:
    qty = row.decimal("qty")
    filled = row.optional_decimal("fillQty")
    if filled is None:
        remaining = row.optional_decimal("remainQty")
        filled = qty - remaining if remaining is not None else Decimal(0)
    return Order(
        order_id=row.integer("orderId"),
        client_order_id=row.optional_integer("clientOrderId") or None,
        symbol=row.text("symbol"),
        side=row.trade_side(),
        qty=qty,
        filled_qty=filled,
        price=row.optional_decimal("price", Decimal(0)) or Decimal(0),
        avg_price=row.optional_decimal("avgPrice", Decimal(0)) or Decimal(0),
        status=status,
        reduce_only=row.flag("reduceOnly"),
        fee=row.optional_decimal("fee", Decimal(0)) or Decimal(0),
        created_at=row.optional_time("createTime"),
        updated_at=row.optional_time("updateTime"),
    )


def _status(row: Fields) -> OrderStatus:
    state = row.integer("state")
    if state not in STATUS_BY_STATE:
        raise row.bad("state", f"is not a known order state ({state})")
    return STATUS_BY_STATE[state]


def _pending_status(row: Fields) -> OrderStatus:
    if row.has("state"):
        return _status(row)
    filled = row.optional_decimal("fillQty", Decimal(0)) or Decimal(0)
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.NEW


def _fill(row: Fields) -> Fill:
    return Fill(
        trade_id=row.integer("tradeId"),
        order_id=row.integer("orderId"),
        symbol=row.text("symbol"),
        side=row.trade_side(),
        qty=row.decimal("qty"),
        price=row.decimal("price"),
        fee=row.optional_decimal("fee", Decimal(0)) or Decimal(0),
        at=row.time("time"),
        is_taker=row.flag("isTaker") if row.has("isTaker") else True,
        reduce_only=row.flag("reduceOnly"),
    )
