"""Order events into tracked orders, and fills into the trade, each counted once.

Invariant (lessons B7, I1, I2): a leg's credited quantity for a direction equals its
baseline (what it held before this execution's orders) plus the fills of this
execution's orders. `OrderUpdated` carries an order's *cumulative* fill; only the
increase since the last view is new, and it is credited only up to that target, so a
fill that recovery already credited from the ledger is never counted twice; its fee
follows its quantity (only the share of the fee of what is credited now, lessons E6). A close
fill is never credited beyond what is held; an excess is reported, not absorbed.

Events about other orders (other trades, other executions) are ignored: the service
passes every event of the tick to every execution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from runner.domain.commands import (
    Event,
    OrderAccepted,
    OrderOutcomeUnknown,
    OrderRejected,
    OrderUpdated,
)
from runner.domain.orders import Order
from runner.domain.trades import Trade
from runner.execution.state import ZERO, LimitProgress, OrderState, TrackedOrder


@dataclass(frozen=True, slots=True)
class Applied:
    progress: LimitProgress
    trade: Trade
    alerts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    rejected_legs: tuple[int, ...] = ()  # legs whose order was refused this tick


def apply_order_events(progress: LimitProgress, trade: Trade,
                       events: Sequence[Event]) -> Applied:
    """Fold this tick's events about our orders into the progress and the trade."""
    ours = {o.client_order_id for o in progress.orders}
    alerts: list[str] = []
    notes: list[str] = []
    rejected: list[int] = []
    for event in events:
        cid = _client_id(event)
        if cid is None or cid not in ours:
            continue
        order = next(o for o in progress.orders if o.client_order_id == cid)
        if isinstance(event, OrderUpdated):
            updated = _seen(order, event.order)
            trade, alert = _credit(trade, progress, order, updated)
            alerts.extend(alert)
        else:
            updated = _status_event(order, event, notes)
        progress = progress.with_order(updated)
        if isinstance(event, OrderRejected):
            rejected.append(updated.key.leg_index)
    return Applied(progress, trade, tuple(alerts), tuple(notes), tuple(rejected))


def _client_id(event: Event) -> int | None:
    if isinstance(event, OrderUpdated):
        return event.order.client_order_id
    if isinstance(event, OrderAccepted | OrderRejected | OrderOutcomeUnknown):
        return event.client_order_id
    return None


def _status_event(order: TrackedOrder, event: Event, notes: list[str]) -> TrackedOrder:
    if isinstance(event, OrderAccepted):
        state = order.state if order.state is OrderState.FINAL else OrderState.WORKING
        return replace(order, order_id=event.order_id or order.order_id, state=state,
                       outcome_unknown=False)
    if isinstance(event, OrderRejected):
        notes.append(f"order {order.client_order_id} (leg {order.key.leg_index}) rejected:"
                     f" {event.message}")
        return replace(order, state=OrderState.FINAL, message=event.message,
                       outcome_unknown=False)
    # OrderOutcomeUnknown: still pending; the dispatcher resolves it (D3), the budget waits
    return replace(order, outcome_unknown=order.state is not OrderState.FINAL)


def _seen(order: TrackedOrder, view: Order) -> TrackedOrder:
    """The tracked order after the exchange's view; fills never go backwards."""
    state = OrderState.FINAL if view.status.is_final else OrderState.WORKING
    order = replace(order, outcome_unknown=False)  # the exchange showed it: known again
    if view.filled_qty < order.filled_qty:
        return replace(order, state=state, order_id=view.order_id)
    return replace(order, state=state, order_id=view.order_id, filled_qty=view.filled_qty,
                   filled_value=view.filled_qty * view.avg_price,
                   fee=max(order.fee, view.fee))


def _credit(trade: Trade, progress: LimitProgress, before: TrackedOrder,
            after: TrackedOrder) -> tuple[Trade, tuple[str, ...]]:
    increase = after.filled_qty - before.filled_qty
    if increase <= 0:
        return trade, ()
    price = (after.filled_value - before.filled_value) / increase
    fee = after.fee - before.fee
    leg = next(leg for leg in trade.legs if leg.index == after.key.leg_index)
    target = _target(progress.with_order(after), after)
    if after.is_opening:
        qty = min(increase, target - leg.filled_qty)
        if qty <= 0:
            return trade, ()
        return trade.with_leg(leg.with_open_fill(qty, price, _fee_share(fee, qty, increase))), ()
    wanted = min(increase, target - leg.closed_qty)
    qty = min(wanted, leg.open_qty)
    alerts: tuple[str, ...] = ()
    if wanted > qty:
        alerts = (f"trade {trade.trade_id} leg {leg.index} {leg.symbol}: close fills exceed"
                  f" the held quantity by {wanted - qty}; check the position",)
    if qty > 0:
        trade = trade.with_leg(leg.with_close_fill(qty, price, _fee_share(fee, qty, increase)))
    return trade, alerts


def _fee_share(fee: Decimal, qty: Decimal, increase: Decimal) -> Decimal:
    """The fee of the part of a fill credited now; the rest was booked by recovery (E6)."""
    return fee if qty >= increase else fee * qty / increase


def _target(progress: LimitProgress, order: TrackedOrder) -> Decimal:
    """What the leg should show in this order's direction once this view is counted."""
    leg = progress.leg(order.key.leg_index)
    same = (o for o in progress.orders if o.key.leg_index == order.key.leg_index
            and o.is_opening == order.is_opening)
    base = leg.baseline_filled if order.is_opening else leg.baseline_closed
    return base + sum((o.counted_qty for o in same), ZERO)

