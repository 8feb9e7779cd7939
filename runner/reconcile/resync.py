"""What a resumed execution missed while the process was down, as events from the ledger.

Events are not durable: the service keeps the dispatcher's answers in memory until the
next tick, and start-up reconciliation brings the ledger up to date without telling any
execution. A process killed at the wrong moment therefore leaves an execution waiting
for an answer that will never come again: an order the ledger already shows filled or
cancelled (no later poll reports a change), an RFQ whose creation or block trade was
recorded, or a command that was saved in the execution's state but never reached the
dispatcher (the kill fell between the two).

`missed_events(store, states)` reads the ledger once per tracked order and RFQ and
returns the events that bring each execution up to the ledger's view. Every event is
safe to deliver again: executors credit only the increase of an order's cumulative
fill (lessons B7), ignore an acceptance they already know and events about other
orders. A command the ledger never saw is answered as refused ("never sent"), so the
executor prices and places that leg again instead of waiting for its budget to run out
(lessons I2: a kill during a close leaves no leg behind). Orders and RFQs whose outcome
is still being settled by the dispatcher (sent, unknown, accept pending) get nothing:
the dispatcher's own resolution answers them (lessons D3).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from runner.domain.commands import (
    Event,
    OrderAccepted,
    OrderRejected,
    OrderUpdated,
    QuoteAccepted,
    RfqCreated,
    RfqFailed,
)
from runner.domain.ledger import LedgerOrder, LedgerStatus, RfqLedgerState, RfqRecord, rfq_key
from runner.domain.rfq import Rfq, RfqState
from runner.execution import ExecutionState
from runner.execution.state import RfqProgress, RfqStage, TrackedOrder

NEVER_SENT = "never sent: the process stopped before the command reached the dispatcher"


class LedgerReader(Protocol):
    def find_by_client_order_id(self, client_order_id: int) -> LedgerOrder | None: ...
    def find_rfq_by_key(self, rfq_key: str) -> RfqRecord | None: ...


def missed_events(store: LedgerReader, states: Iterable[ExecutionState]) -> list[Event]:
    """The ledger's view of every live order and RFQ of these executions, as events."""
    events: list[Event] = []
    for state in states:
        if state.limit is not None:
            for order in state.limit.live_orders():
                events.extend(_order_events(order, store.find_by_client_order_id(
                    order.client_order_id)))
        if state.rfq is not None:
            key = rfq_key(state.trade_id, state.purpose, state.rfq.attempt)
            events.extend(_rfq_events(state.trade_id, state.rfq, store.find_rfq_by_key(key)))
    return events


def _order_events(order: TrackedOrder, row: LedgerOrder | None) -> list[Event]:
    cid = order.client_order_id
    if row is None:
        return [OrderRejected(cid, None, NEVER_SENT)]
    if row.status is LedgerStatus.REJECTED:
        return [OrderRejected(cid, row.error_code, row.error_message or "rejected")]
    if row.order_id is None:
        return []  # intent, sent or unknown: the dispatcher settles it (D3)
    events: list[Event] = [OrderAccepted(cid, row.order_id)]
    view = row.as_order()
    if view is not None and (view.filled_qty > 0 or view.status.is_final):
        events.append(OrderUpdated(view))
    return events


def _rfq_events(trade_id: str, progress: RfqProgress, record: RfqRecord | None) -> list[Event]:
    if record is None:
        if progress.stage is RfqStage.CREATING:
            return [RfqFailed(trade_id, None, None, NEVER_SENT, progress.attempt)]
        return []
    events: list[Event] = []
    if progress.stage is RfqStage.CREATING and record.request_id is not None:
        events.append(RfqCreated(trade_id, _view(record), progress.attempt))
    request_id = record.request_id
    if record.state is RfqLedgerState.FILLED and record.block_trade is not None:
        events.append(QuoteAccepted(record.block_trade.request_id, record.block_trade))
    elif record.state.is_final:
        events.append(RfqFailed(trade_id, request_id, record.error_code,
                                record.error_message or f"request {record.state.value}",
                                progress.attempt))
    elif progress.stage is RfqStage.ACCEPTING and progress.quote_id is not None \
            and not record.state.needs_accept_lookup:
        why = record.error_message or f"accept of quote {progress.quote_id} {NEVER_SENT}"
        events.append(RfqFailed(trade_id, request_id, record.error_code, why, progress.attempt))
    return events


def _view(record: RfqRecord) -> Rfq:
    expires = record.expires_at or record.created_at
    return Rfq(record.request_id or "", RfqState.ACTIVE, record.legs, record.created_at, expires)
