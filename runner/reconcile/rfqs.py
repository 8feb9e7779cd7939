"""Start-up settling of RFQs the ledger still calls active (lessons A7, D3 for requests).

A kill between an RFQ call and the ledger update behind it leaves the ledger saying
ACTIVE for a request no execution waits on any more (the executor fell back, or the
trade ended, before its cancel went out), or for one whose expiry has passed while the
process was down. Left alone, such a record has its quotes polled every tick until it
expires (about an hour) and makers keep quoting a request nobody will accept.

The runner's key is a taker key, for which `rfqList` is HTTP 404 (coincall-api.md
pitfall 7), so requests are never discovered or looked up on the exchange: the ledger's
own records are the list. A request past its recorded expiry is recorded as expired; an
active one that no execution waits on is cancelled by its recorded id, and recorded as
cancelled once the exchange answered (a refused cancel means it is final already). An
RFQ whose create answer was lost has no id in the ledger: it cannot be named, and
expires on the venue by itself.

Invariant: after `settle_active_rfqs`, every ACTIVE record either belongs to an RFQ
execution that is still collecting quotes on it (its expiry is the dispatcher's to
report), or its cancel could not be sent (nothing is changed then; the next start tries
again). Accepts in flight are not touched here: the dispatcher resolves them from the
block trades (pitfall 8). The cancel goes through the dispatcher, the one place a command
reaches the exchange (intent in the audit log, call, outcome); this module only decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.dispatch import Dispatcher
from runner.domain.ledger import RfqLedgerState, RfqRecord
from runner.execution import execution_state_from_dict
from runner.store import Store


def settle_active_rfqs(store: Store, dispatcher: Dispatcher) -> list[str]:
    """Bring ACTIVE RFQ records in line with the exchange; return what was done, in words."""
    waited_on, unreadable = _collecting(store.load_executions())
    done: list[str] = []
    for record in store.active_rfqs():
        if record.state is not RfqLedgerState.ACTIVE or record.request_id is None \
                or record.trade_id in unreadable:
            continue  # an unreadable execution state: never cancel on a guess
        line = _settle_one(store, dispatcher, record, waited_on)
        if line is not None:
            done.append(line)
    return done


def _settle_one(store: Store, dispatcher: Dispatcher, record: RfqRecord,
                waited_on: set[tuple[str, str, int]]) -> str | None:
    request_id = record.request_id or ""
    if (record.trade_id, record.purpose.value, record.attempt) in waited_on:
        return None
    if record.expires_at is not None and store.now() >= record.expires_at:
        state, why = RfqLedgerState.EXPIRED, "no execution waited on it; past its expiry"
    else:
        answer = dispatcher.cancel_unwanted_rfq(record, "reconcile: no execution waits on it")
        if answer is None:
            return None
        why = f"no execution waited on it; {answer}"
        state = RfqLedgerState.CANCELLED
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
