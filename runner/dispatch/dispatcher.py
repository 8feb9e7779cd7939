"""The one place a command reaches the exchange: write the intent, send, record the outcome.

Invariants (design decision 5; lessons A1, B2-B4, D2, D3):
- The intent is committed to the store *before* the port is called, in its own
  transaction; the outcome is recorded after. Every action and outcome is audited.
- One client order id is sent at most once per outcome: a key whose order is live or
  accepted is reused, never sent again (B2); the key includes the reason (B4). An
  unknown outcome is resolved by looking the order up by its client order id, never by
  sending it again (D3). A new attempt on a (trade, leg, purpose) is refused while an
  earlier order of it may still be working; unsent earlier intents are superseded (B3).
- Hard caps (30 orders per trade, 4 live orders per symbol, B2) are checked before an
  intent is written.
- An accept is never retried: a lost answer is resolved from the block trades.

Events: `OrderOutcomeUnknown` means "pending, the dispatcher resolves it" (a lost reply,
or an exchange that was unavailable, in which case the same client id is re-sent on a
later `poll` within `intent_ttl`); an `OrderAccepted` or `OrderRejected` follows. An
accept still being resolved produces no event until `poll` settles it. A command the
dispatcher refuses itself (caps, a conflicting live order, an unsaved or finished trade)
is answered with `OrderRejected(code=None, message="not sent: ...")` and nothing is sent.
A cancel of an order the ledger already holds as final is answered with its final
state again (nothing is sent), so a requester that missed it learns it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from runner.dispatch.limits import DispatchLimits
from runner.dispatch.poll import OrderPolling
from runner.dispatch.rfqs import RfqCommands
from runner.domain.clock import Clock
from runner.domain.commands import (
    AcceptQuote,
    CancelOrder,
    Command,
    CreateRfq,
    Event,
    OrderAccepted,
    OrderOutcomeUnknown,
    OrderRejected,
    OrderUpdated,
    PlaceOrder,
)
from runner.domain.ledger import LedgerOrder, LedgerStatus
from runner.domain.orders import Order
from runner.exchange.errors import ExchangeError, ExchangeRejected, ExchangeUnavailable
from runner.exchange.port import Exchange
from runner.execution.retry import is_retry_reason
from runner.store import Store

ALREADY_FINAL_CODES: Final = frozenset({11101, 11102, 10584})  # cancelled / filled / unknown
DUPLICATE_ID_CODES: Final = frozenset({10576, 10577})  # the exchange already holds this id


class Dispatcher(OrderPolling, RfqCommands):
    """Turns executor commands into exchange calls, with the store as the journal."""

    def __init__(self, exchange: Exchange, store: Store, clock: Clock,
                 limits: DispatchLimits | None = None) -> None:
        self.exchange = exchange
        self.store = store
        self.clock = clock
        self.limits = limits or DispatchLimits()

    def execute(self, commands: Iterable[Command]) -> list[Event]:
        """Carry out each command in order and return the events of their outcomes."""
        events: list[Event] = []
        for command in commands:
            events.extend(self._execute_one(command))
        return events

    def _execute_one(self, command: Command) -> list[Event]:
        if isinstance(command, PlaceOrder):
            return self._place(command)
        if isinstance(command, CancelOrder):
            return self._cancel(command)
        if isinstance(command, CreateRfq):
            return self._create_rfq(command)
        if isinstance(command, AcceptQuote):
            return self._accept(command)
        return self._cancel_rfq(command)

    # -- place -----------------------------------------------------------------------------
    def _place(self, command: PlaceOrder) -> list[Event]:
        cid = command.request.client_order_id
        row = self.store.find_by_client_order_id(cid)
        if row is None:
            refusal = self._refusal(command)
            if refusal is not None:
                self.store.audit("place_order", str(cid), "refused", reason=refusal)
                return [OrderRejected(cid, None, f"not sent: {refusal}")]
            row = self.store.record_intent(command)
        return self._advance(row)

    def _refusal(self, command: PlaceOrder) -> str | None:
        key, limits = command.key, self.limits
        stage = self.store.trade_stage(key.trade_id)
        if stage is None:
            return f"trade {key.trade_id} is not in the store (save it before its orders, A1)"
        if stage.is_terminal:
            return f"trade {key.trade_id} is {stage.value}"
        if not is_retry_reason(key.reason) and _capped(self.store.order_reasons(
                key.trade_id)) >= limits.max_orders_per_trade:
            return f"trade {key.trade_id} reached {limits.max_orders_per_trade} orders"
        live = self.store.live_orders()
        if sum(o.symbol == command.request.symbol for o in live) >= \
                limits.max_live_orders_per_symbol:
            return f"{limits.max_live_orders_per_symbol} live orders on {command.request.symbol}"
        return self._conflict(command, [o for o in live if o.trade_id == key.trade_id])

    def _conflict(self, command: PlaceOrder, live: list[LedgerOrder]) -> str | None:
        key = command.key
        for other in live:
            if (other.key.leg_index, other.key.purpose) != (key.leg_index, key.purpose):
                continue
            if other.status is LedgerStatus.INTENT and other.send_attempts == 0:
                self.store.mark_rejected(other.client_order_id, None,
                                         f"superseded by attempt {key.attempt}, never sent")
                continue
            return (f"order {other.client_order_id} ({other.key.reason}, attempt"
                    f" {other.key.attempt}) of this leg may still be working: cancel it first")
        return None

    def _advance(self, row: LedgerOrder) -> list[Event]:
        cid = row.client_order_id
        if row.status is LedgerStatus.REJECTED:
            return [OrderRejected(cid, row.error_code, row.error_message or "rejected")]
        if row.status in (LedgerStatus.ACCEPTED, LedgerStatus.FINAL):
            return _accepted_events(row)
        if row.status is LedgerStatus.INTENT and row.send_attempts == 0:
            return self._send(row)
        return self._resolve(row, resend=row.status is LedgerStatus.INTENT)

    def _send(self, row: LedgerOrder) -> list[Event]:
        cid = row.client_order_id
        with self.store.transaction():
            self.store.mark_sent(cid)
            self.store.audit("place_order", str(cid), "sending", **_request_detail(row))
        self.forget_orders_read()
        try:
            order_id = self.exchange.place_order(row.request)
        except ExchangeRejected as exc:
            if exc.code in DUPLICATE_ID_CODES:
                return self._unknown(row, exc)
            self.store.mark_rejected(cid, exc.code, exc.message)
            self.store.audit("place_order", str(cid), "rejected", code=exc.code, error=str(exc))
            return [OrderRejected(cid, exc.code, exc.message)]
        except ExchangeUnavailable as exc:
            self.store.mark_unsent(cid, str(exc))
            self.store.audit("place_order", str(cid), "not sent", error=str(exc))
            return [OrderOutcomeUnknown(cid)]
        except ExchangeError as exc:
            return self._unknown(row, exc)
        # One commit: a crash leaves both or neither (then SENT, resolved by a lookup, D3).
        with self.store.transaction():
            self.store.mark_accepted(cid, order_id)
            self.store.audit("place_order", str(cid), "accepted", order_id=order_id)
        return [OrderAccepted(cid, order_id)]

    def _unknown(self, row: LedgerOrder, exc: ExchangeError) -> list[Event]:
        self.store.mark_unknown(row.client_order_id, str(exc))
        self.store.audit("place_order", str(row.client_order_id), "outcome unknown",
                         error=str(exc))
        return self._resolve(self.store.find_by_client_order_id(row.client_order_id) or row)

    def _resolve(self, row: LedgerOrder, *, resend: bool = False) -> list[Event]:
        """Look an order up by its client id: adopt it when found (D3)."""
        cid = row.client_order_id
        try:
            found = self.exchange.get_order(client_order_id=cid)
        except ExchangeError:
            return [OrderOutcomeUnknown(cid)]
        if found is not None:
            self.store.audit("get_order", str(cid), "adopted", order_id=found.order_id)
            return self.record_view(row, found)
        if resend:
            return self._send(row)
        return [OrderOutcomeUnknown(cid)]

    def record_view(self, row: LedgerOrder, order: Order, *,
                    current: LedgerOrder | None = None) -> list[Event]:
        """Record the exchange's view of one of our orders; return what changed as events.
        `current`: `row` when the caller read it from the ledger just now (the poll), so the
        store need not read it again."""
        result = self.store.update_from_exchange(order, current=current)
        if result is None:
            return []
        updated, changed = result
        events: list[Event] = []
        if row.status not in (LedgerStatus.ACCEPTED, LedgerStatus.FINAL):
            events.append(OrderAccepted(row.client_order_id, order.order_id))
        view = updated.as_order()
        if changed and view is not None and (view.filled_qty > 0 or view.status.is_final):
            events.append(OrderUpdated(view))
        return events

    # -- cancel ----------------------------------------------------------------------------
    def _cancel(self, command: CancelOrder) -> list[Event]:
        cid = command.client_order_id
        row = self.store.find_by_client_order_id(cid)
        if row is None:
            self.store.audit("cancel_order", str(cid), "refused", reason="not our order")
            return []
        with self.store.transaction():
            self.store.mark_cancel_requested(cid, command.reason)
            self.store.audit("cancel_order", str(cid), "sending", reason=command.reason)
        if row.status is LedgerStatus.INTENT and row.send_attempts == 0:
            self.store.mark_rejected(cid, None, "cancelled before it was sent")
            return [OrderRejected(cid, None, "cancelled before it was sent")]
        if row.status in (LedgerStatus.REJECTED, LedgerStatus.FINAL):
            return _final_events(row)
        order_id = command.order_id or row.order_id
        self.forget_orders_read()
        try:
            if order_id is not None:
                self.exchange.cancel_order(order_id=order_id)
            else:
                self.exchange.cancel_order(client_order_id=cid)
            self.store.audit("cancel_order", str(cid), "cancelled")
        except ExchangeError as exc:
            final = isinstance(exc, ExchangeRejected) and exc.code in ALREADY_FINAL_CODES
            self.store.audit("cancel_order", str(cid), "already final" if final else "failed",
                             code=exc.code, error=str(exc))
        return self._reread(row)

    def _reread(self, row: LedgerOrder) -> list[Event]:
        """After a cancel, read the order again: it may have filled meanwhile (pitfall 12)."""
        try:
            found = self.exchange.get_order(client_order_id=row.client_order_id)
        except ExchangeError:
            return []
        return [] if found is None else self.record_view(row, found)

    # -- poll ------------------------------------------------------------------------------
    def poll(self, now: datetime | None = None) -> list[Event]:
        """Learn what happened to our orders and RFQs since the last tick (one open-orders
        read, lookups only for our orders that left it, quotes for active RFQs)."""
        now = now or self.clock.now()
        live = self.store.live_orders()  # one ledger read for the orders and the intents
        return [*self.poll_orders(now, live), *self.retry_intents(now, live),
                *self.poll_rfqs(now)]


def _capped(reasons: list[str]) -> int:
    """Orders (by their reasons) counted against the per-trade cap (B2). A retrying close's
    orders are not: they are bounded by rate instead, one per held leg a minute, and are
    reduce-only (runner.execution.retry), so an exhausted close is never left without a
    way out."""
    return sum(not is_retry_reason(reason) for reason in reasons)


def _accepted_events(row: LedgerOrder) -> list[Event]:
    events: list[Event] = [OrderAccepted(row.client_order_id, row.order_id or 0)]
    view = row.as_order()
    if view is not None and (view.filled_qty > 0 or view.status.is_final):
        events.append(OrderUpdated(view))
    return events


def _final_events(row: LedgerOrder) -> list[Event]:
    """The answer to a cancel of an order the ledger already holds as final: its end.

    The requester may have missed the event that ended it (the cancels sent at a
    shutdown are answered to nobody), so it is told again; fills are cumulative, so a
    repeated view is never credited twice (B7).
    """
    if row.status is LedgerStatus.REJECTED:
        return [OrderRejected(row.client_order_id, row.error_code,
                              row.error_message or "rejected")]
    view = row.as_order()
    return [] if view is None else [OrderUpdated(view)]


def _request_detail(row: LedgerOrder) -> dict[str, object]:
    request = row.request
    return {"trade_id": row.trade_id, "leg": row.key.leg_index, "purpose": row.key.purpose.value,
            "reason": row.key.reason, "attempt": row.key.attempt, "symbol": request.symbol,
            "side": request.side.value, "qty": request.qty, "price": request.price,
            "reduce_only": request.reduce_only}
