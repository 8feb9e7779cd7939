"""Start-up settling of RFQs the ledger still calls active (lessons A7, D3 for requests).

A kill between an RFQ call and the ledger update behind it leaves the ledger saying
ACTIVE for a request the exchange has since cancelled or let expire, or for a request
no execution waits on any more (the executor fell back, or the trade ended, before its
cancel went out). Left alone, such a record has its quotes polled every tick until it
expires (about an hour) and makers keep quoting a request nobody will accept.

Invariant: after `settle_active_rfqs`, every ACTIVE record either belongs to an RFQ
execution that is still collecting quotes on it, or the exchange could not be read
(nothing is changed then; the next start tries again). A request that no execution
waits on is cancelled on the exchange first; only what the exchange then reports is
written. FILLED requests are not touched here: an accept is resolved from the block
trades by the dispatcher (pitfall 8).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from runner.domain.ledger import RfqLedgerState, RfqRecord
from runner.domain.rfq import RfqState
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange
from runner.execution import execution_state_from_dict
from runner.store import Store

_SETTLED: Final = {RfqState.CANCELLED: RfqLedgerState.CANCELLED,
                   RfqState.EXPIRED: RfqLedgerState.EXPIRED,
                   RfqState.TRADED_AWAY: RfqLedgerState.EXPIRED}


def settle_active_rfqs(store: Store, exchange: Exchange) -> list[str]:
    """Bring ACTIVE RFQ records in line with the exchange; return what was done, in words."""
    waited_on, unreadable = _collecting(store.load_executions())
    done: list[str] = []
    for record in store.active_rfqs():
        if record.state is not RfqLedgerState.ACTIVE or record.request_id is None \
                or record.trade_id in unreadable:
            continue  # an unreadable execution state: never cancel on a guess
        line = _settle_one(store, exchange, record, waited_on)
        if line is not None:
            done.append(line)
    return done


def _settle_one(store: Store, exchange: Exchange, record: RfqRecord,
                waited_on: set[tuple[str, str, int]]) -> str | None:
    request_id = record.request_id or ""
    wanted = (record.trade_id, record.purpose.value, record.attempt) in waited_on
    try:
        rfq = exchange.get_rfq(request_id)
        if rfq is not None and rfq.state is RfqState.ACTIVE and not wanted:
            store.audit("cancel_rfq", request_id, "sending", reason="reconcile: no execution"
                        " waits on it")
            exchange.cancel_rfq(request_id)
            rfq = exchange.get_rfq(request_id)
    except ExchangeError as exc:
        store.audit("get_rfq", request_id, "failed", error=str(exc))
        return None
    if rfq is None or rfq.state not in _SETTLED:
        return None
    state = _SETTLED[rfq.state]
    why = "no execution waited on it" if not wanted else f"the exchange shows it {rfq.state}"
    store.mark_rfq_state(record.rfq_key, state, None, f"reconcile: {why}")
    store.audit("rfq", request_id, state.value, reason=why)
    return f"reconcile: RFQ {request_id} of trade {record.trade_id} is {state.value} ({why})"


def _collecting(saved: Mapping[str, dict[str, Any]]
                ) -> tuple[set[tuple[str, str, int]], set[str]]:
    """(trade, purpose, attempt) of every saved RFQ execution (the requests still wanted),
    and the trades whose saved execution cannot be read."""
    wanted: set[tuple[str, str, int]] = set()
    unreadable: set[str] = set()
    for trade_id, data in saved.items():
        try:
            state = execution_state_from_dict(data)
        except (ValueError, KeyError, TypeError):
            unreadable.add(trade_id)
            continue
        if state.rfq is not None:
            wanted.add((trade_id, state.purpose.value, state.rfq.attempt))
    return wanted, unreadable
