"""Polling our orders once per tick: fills from exchange truth, lost replies settled.

One `open_orders` read per tick whatever the number of strategies (design decision 2);
`get_order` only for our orders that are live in the ledger but absent from that list,
to learn their final fills (lessons B7: the exchange's cumulative `fillQty` per order
is the truth). An order younger than the grace period is never declared missing
(lessons D2, pitfall 21); the executor waiting on it meanwhile spends none of its time
budget (`runner.execution.pause`). Unsent intents are re-sent under the same client order id
while they are younger than `intent_ttl`, and given up (rejected) after.

The open-orders read is kept (`OpenOrdersRead`) so the tick's snapshot, read right after
the poll, uses it instead of reading the list a second time (issue 11: one read a tick).
It is shared only while it still tells the truth about what we sent: an order placed or
a cancel sent after it (an intent re-sent by this very poll) makes it unusable, and the
snapshot then reads the list itself. A failed read is shared as a failure, never as an
empty list (lessons C5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from runner.domain.commands import Event, OrderOutcomeUnknown, OrderRejected
from runner.domain.ledger import LedgerOrder, LedgerStatus
from runner.domain.orders import Order
from runner.exchange.errors import ExchangeError

if TYPE_CHECKING:
    from runner.dispatch.limits import DispatchLimits
    from runner.exchange.port import Exchange
    from runner.store import Store

_FILL_LOOKBACK = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class OpenOrdersRead:
    """One open-orders read of a poll: the working orders, or why the read failed."""

    at: datetime
    orders: tuple[Order, ...] | None  # None: the read failed (never "no orders", C5)
    error: str | None = None


class OrderPolling:
    """The order half of `Dispatcher.poll`."""

    exchange: Exchange
    store: Store
    limits: DispatchLimits
    _orders_read: OpenOrdersRead | None = None  # the last poll's read, while still true

    if TYPE_CHECKING:
        def record_view(self, row: LedgerOrder, order: Order, *,
                        current: LedgerOrder | None = None) -> list[Event]: ...
        def _advance(self, row: LedgerOrder) -> list[Event]: ...

    def poll_orders(self, now: datetime,
                    live: Sequence[LedgerOrder] | None = None) -> list[Event]:
        """Refresh every order that may be working; one open-orders read in all. `live`:
        the ledger's live orders read just now (`Dispatcher.poll` reads them once for this
        and `retry_intents`), else they are read here."""
        if live is None:
            live = self.store.live_orders()
        rows = [r for r in live if r.status is not LedgerStatus.INTENT]
        if not rows:
            return []
        try:
            working = self.exchange.open_orders()
        except ExchangeError as error:
            self._orders_read = OpenOrdersRead(now, None, str(error))
            return []  # a failed read is not "no orders" (C5): try again next tick
        self._orders_read = OpenOrdersRead(now, tuple(working))
        by_client = {o.client_order_id: o for o in working if o.client_order_id is not None}
        events: list[Event] = []
        for row in rows:
            seen = by_client.get(row.client_order_id)
            if seen is None:
                events.extend(self.settle_missing(row, now))
            else:
                events.extend(self.record_view(row, seen, current=row))
        if any(not isinstance(e, OrderOutcomeUnknown | OrderRejected) for e in events):
            self.record_fills(min(r.sent_at or r.created_at for r in rows) - _FILL_LOOKBACK)
        return events

    def orders_polled(self, now: datetime) -> OpenOrdersRead | None:
        """The open orders this tick's poll read at `now`, while nothing was sent since;
        None when it read none (the snapshot reads them itself when it needs them)."""
        read = self._orders_read
        return read if read is not None and read.at == now else None

    def forget_orders_read(self) -> None:
        """An order or a cancel is about to be sent: the kept read no longer tells the truth."""
        self._orders_read = None

    def settle_missing(self, row: LedgerOrder, now: datetime) -> list[Event]:
        """An order of ours not among the working ones: filled, cancelled or never placed."""
        try:
            found = self.exchange.get_order(client_order_id=row.client_order_id)
        except ExchangeError:
            return []
        if found is not None:
            return self.record_view(row, found)
        age = now - (row.sent_at or row.created_at)
        if age < self.limits.missing_grace:
            return []  # D2: too young to call missing
        cid = row.client_order_id
        if row.status is LedgerStatus.ACCEPTED:
            self.store.mark_unknown(cid, "acknowledged, but the exchange no longer knows it")
            self.store.audit("get_order", str(cid), "missing", age_s=age.total_seconds())
            return [OrderOutcomeUnknown(cid)]
        if row.status is LedgerStatus.UNKNOWN and row.order_id is not None:
            return []  # it existed once: keep asking rather than guess
        message = f"not on the exchange {age.total_seconds():.0f} s after sending: never placed"
        self.store.mark_rejected(cid, None, message)
        self.store.audit("get_order", str(cid), "never placed")
        return [OrderRejected(cid, None, message)]

    def retry_intents(self, now: datetime,
                      live: Sequence[LedgerOrder] | None = None) -> list[Event]:
        """Send again the intents the exchange could not take; give up on stale ones.
        `live`: the ledger's live orders read at the start of this poll (`poll_orders`
        touches no intent), else the intents are read here."""
        intents = (self.store.unsent_intents() if live is None
                   else [r for r in live if r.status is LedgerStatus.INTENT])
        events: list[Event] = []
        for row in intents:
            stage = self.store.trade_stage(row.trade_id)
            if stage is None or stage.is_terminal:
                events.extend(self.give_up(row, f"trade is {stage.value if stage else 'gone'}"))
            elif now - row.created_at > self.limits.intent_ttl:
                events.extend(self.give_up(row, "not sent within its time to live"))
            else:
                events.extend(self._advance(row))
        return events

    def give_up(self, row: LedgerOrder, why: str) -> list[Event]:
        """Abandon an unsent intent (after checking the exchange if it was ever tried)."""
        if row.send_attempts:
            try:  # it was tried once: make sure the exchange really does not hold it
                found = self.exchange.get_order(client_order_id=row.client_order_id)
            except ExchangeError:
                return []
            if found is not None:
                return self.record_view(row, found)
        message = f"intent abandoned: {why}"
        self.store.mark_rejected(row.client_order_id, None, message)
        self.store.audit("place_order", str(row.client_order_id), "abandoned", reason=why)
        return [OrderRejected(row.client_order_id, None, message)]

    def record_fills(self, since: datetime) -> int:
        """Keep the exchange's executions since `since` (deduplicated); return how many new."""
        try:
            fills = self.exchange.fills(since)
        except ExchangeError:
            return 0
        with self.store.transaction():  # one commit for the read's fills, all or none
            return sum(self.store.record_fill(fill) for fill in fills)
