"""One step of a limit execution in the making (`LimitTick`), and how it cancels orders.

`LimitTick` is the mutable scratch of one `run_limit` step; only its `Step` leaves the
executor. The cancel rules live here beside it: a cancel not confirmed after
`CANCEL_RESEND_AFTER` is sent again (an alert after `CANCEL_ALERT_AFTER_SENDS` sends), and a
cancelled order gone from the open orders for `PRESUME_FINAL_AFTER` is taken as final.
Pure, like the executor: commands out, no exchange call.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from runner.domain.commands import CancelOrder, Command, OrderPurpose
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeStage
from runner.execution.state import ExecutionState, LimitProgress, OrderState, Step, TrackedOrder

CANCEL_RESEND_AFTER: Final = timedelta(seconds=5)
# A cancelled order missing from the exchange's open orders this long is taken as final:
# its last report was lost (a crash between dispatch and the next step); the store's
# recovery credits its fills from the ledger, so only the bookkeeping is missing.
PRESUME_FINAL_AFTER: Final = timedelta(seconds=30)
CANCEL_ALERT_AFTER_SENDS: Final = 6


@dataclass(slots=True)
class LimitTick:
    """Mutable scratch for one step; only its result leaves this module."""

    state: ExecutionState
    progress: LimitProgress
    trade: Trade
    now: datetime
    commands: list[Command] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    learned_ticks: dict[str, Decimal] = field(default_factory=dict)
    finished: bool = False

    @property
    def purpose(self) -> OrderPurpose:
        return self.state.purpose

    @property
    def opening(self) -> bool:
        return self.purpose is OrderPurpose.OPEN

    def step(self) -> Step:
        state = None if self.finished else replace(self.state, limit=self.progress)
        return Step(state, self.trade, tuple(self.commands), tuple(self.alerts),
                    tuple(self.notes), tuple(self.learned_ticks.items()))

    def move(self, stage: TradeStage, reason: str) -> None:
        if self.trade.stage is not stage:
            self.trade = self.trade.moved_to(stage, reason, self.now)


# -- cancels -----------------------------------------------------------------------------
def cancel_live(tick: LimitTick, reason: str) -> None:
    """Cancel every live order not yet asked to cancel."""
    for order in tick.progress.live_orders():
        if order.cancel_sent_at is None:
            cancel(tick, order, reason)


def cancel(tick: LimitTick, order: TrackedOrder, reason: str) -> None:
    """Ask the dispatcher to cancel `order`, and remember when and how often it was asked."""
    tick.commands.append(CancelOrder(tick.trade.trade_id, order.client_order_id,
                                     order.order_id, reason))
    tick.progress = tick.progress.with_order(
        replace(order, cancel_sent_at=tick.now, cancel_sends=order.cancel_sends + 1,
                cancel_first_at=order.cancel_first_at or tick.now))


def resend_cancels(tick: LimitTick) -> None:
    """A cancel not confirmed after a while is sent again; after several, page someone."""
    for order in tick.progress.live_orders():
        sent = order.cancel_sent_at
        if sent is None or tick.now - sent < CANCEL_RESEND_AFTER:
            continue
        cancel(tick, order, "cancel not yet confirmed")
        if order.cancel_sends + 1 == CANCEL_ALERT_AFTER_SENDS:
            tick.alerts.append(f"trade {tick.trade.trade_id}: order {order.client_order_id}"
                               f" ({order.symbol}) still not confirmed cancelled after"
                               f" {CANCEL_ALERT_AFTER_SENDS} cancels")


def presume_final(tick: LimitTick, snapshot: MarketSnapshot) -> None:
    """A cancelled order gone from the open orders for a while is taken as final."""
    if snapshot.open_orders is None:
        return  # a failed read proves nothing (lessons C5)
    working = {o.client_order_id for o in snapshot.open_orders}
    for order in tick.progress.live_orders():
        first = order.cancel_first_at
        if first is None or tick.now - first < PRESUME_FINAL_AFTER \
                or order.client_order_id in working:
            continue
        tick.progress = tick.progress.with_order(replace(
            order, state=OrderState.FINAL, message="gone from the open orders after its cancel"))
        tick.notes.append(f"trade {tick.trade.trade_id}: order {order.client_order_id} is gone"
                          " from the open orders since its cancel; taken as final")
