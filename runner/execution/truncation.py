"""Order prices the exchange changed: notice them, learn the tick, decide the requote.

Why (issue 8 finding 9): the instrument list says tick 0.1 while a live close sell at
9.50 rested at 9.00; the exchange truncated it. A sell resting below its limit gives
away money and may fill there; a close that rests where we did not mean it may not fill.

How it is noticed: the tick's snapshot already holds the exchange's open orders (read
once per tick, design decision 2), each with the price the exchange keeps. A working
order of ours whose kept price differs from the price we sent is truncated; no extra
request is made.

The rule (decided here, and the only place it is written):
1. The effective tick is learned: the smallest grid step coarser than the current one
   (listed x 1, 2, 5, 10, ...) on which the kept price lies within one step of the sent
   price (`instruments.learned_tick`). It is remembered per instrument (the leg's
   progress at once; the service for every later price of the instrument, through
   `Step.learned_ticks` and `MarketSnapshot.learned_ticks`), so later prices are rounded
   to it from the start.
2. The intended price is re-rounded on the learned grid in the executor's own direction,
   for opens and closes alike: a sell rounds up, a buy rounds down (`snap_price`). The
   requote is therefore never worse for us than the price the phase intended, and never
   crosses further than the phase allowed: a sell meant at >= 9.5 goes to 10, never 9.
3. When the kept price already is that price (a buy truncated down: 9.5 kept at 9.0 is
   what rounding down gives) the order stays; otherwise it is cancelled and replaced by
   the usual cancel-then-place path, priced on the learned grid. The leg's B9 reference
   becomes the on-grid price, so "never against us within a phase" holds on that grid.
4. A changed price no grid explains (kept 9.3 for 9.5 on tick 0.1) is noted, tracked at
   the kept price, and not requoted: there is no rule to requote by, and guessing could
   loop.
In every case the tracked order takes the kept price, the exchange's truth, so each
change is handled once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from runner.domain.instruments import learned_tick, snap_price
from runner.domain.orders import Side
from runner.domain.snapshot import MarketSnapshot
from runner.execution.pricing import leg_market
from runner.execution.state import LimitProgress, TrackedOrder


@dataclass(frozen=True, slots=True)
class ChangedPrice:
    """One of our working orders whose price the exchange did not keep."""

    order: TrackedOrder
    kept: Decimal  # the price the exchange reports for the order
    tick: Decimal | None  # the grid step that explains it; None when none does
    requote_at: Decimal | None  # the intended price on that grid; None: keep the order

    def describe(self, trade_id: str) -> str:
        sent = self.order.price
        head = (f"trade {trade_id}: order {self.order.client_order_id} ({self.order.symbol}"
                f" {self.order.side.value}) sent at {sent} rests at {self.kept}")
        if self.tick is None:
            return f"{head}; no tick explains it, left as it is"
        if self.requote_at is None:
            return f"{head}; learned tick {self.tick}, already on it: kept"
        return f"{head}; learned tick {self.tick}, requoting at {self.requote_at}"


def changed_prices(progress: LimitProgress, snapshot: MarketSnapshot,
                   learned: dict[str, Decimal] | None = None) -> list[ChangedPrice]:
    """Our live orders, not being cancelled, whose kept price differs from the sent one."""
    if snapshot.open_orders is None:
        return []  # a failed read proves nothing (lessons C5)
    kept = {o.client_order_id: o.price for o in snapshot.open_orders}
    found = []
    for order in progress.live_orders():
        price = kept.get(order.client_order_id)
        if order.cancel_sent_at is not None or price is None or price == order.price:
            continue
        current = leg_market(snapshot, order.symbol).tick
        if learned and order.symbol in learned:
            current = max(current, learned[order.symbol])
        found.append(_judge(order, price, current))
    return found


def _judge(order: TrackedOrder, kept: Decimal, current_tick: Decimal) -> ChangedPrice:
    step = learned_tick(order.price, kept, current_tick)
    if step is None:
        return ChangedPrice(order, kept, None, None)
    target = snap_price(order.price, step, round_up=order.side is Side.SELL)
    return ChangedPrice(order, kept, step, None if target == kept else target)
