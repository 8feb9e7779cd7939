"""The RFQ half of the Store's API (a mixin, so `store.py` stays one screenful per concern).

Every RFQ action is written before it is sent: the create intent (keyed by trade,
purpose and attempt), then the request id once known, then the chosen quote before
the accept, then the block trade. See `rfq_rows` for the invariants.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from runner.domain.commands import CreateRfq
from runner.domain.ledger import RfqLedgerState, RfqRecord
from runner.domain.orders import Fill
from runner.domain.rfq import BlockTrade, Rfq
from runner.store import order_rows, rfq_rows
from runner.store.memo import ChangeMemo

if TYPE_CHECKING:
    from runner.domain.ledger import LedgerOrder


class RfqLedgerMixin:
    """RFQ intents, states, accepts and block trades."""

    _connection: sqlite3.Connection
    _memo: ChangeMemo

    if TYPE_CHECKING:
        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def now(self) -> datetime: ...
        def find_by_order_id(self, order_id: int) -> LedgerOrder | None: ...

    def record_rfq_intent(self, command: CreateRfq) -> RfqRecord:
        """Write the create intent once; the same (trade, purpose, attempt) returns the row."""
        with self.transaction() as tx:
            key = rfq_rows.insert_intent(tx, command, self.now())
        return self._must_find_rfq(key)

    def mark_rfq_created(self, rfq_key: str, rfq: Rfq) -> RfqRecord:
        return self._set_rfq(rfq_key, RfqLedgerState.ACTIVE, request_id=rfq.request_id,
                             expires_at=rfq.expires_at, error_code=None, error_message=None)

    def mark_rfq_state(self, rfq_key: str, state: RfqLedgerState, code: int | None = None,
                       message: str | None = None) -> RfqRecord:
        return self._set_rfq(rfq_key, state, error_code=code, error_message=message)

    def record_accept_intent(self, rfq_key: str, quote_id: str,
                             expected_cost: Decimal) -> RfqRecord:
        """The chosen quote, written before the accept is sent (never resent)."""
        return self._set_rfq(rfq_key, RfqLedgerState.ACCEPTING, accept_quote_id=quote_id,
                             expected_cost=expected_cost, accept_requested_at=self.now())

    def record_block_trade(self, rfq_key: str, trade: BlockTrade) -> RfqRecord:
        """The accept happened: keep the block trade and its legs as fills (deduplicated)."""
        with self.transaction() as tx:
            rfq_rows.update(tx, rfq_key, RfqLedgerState.FILLED, self.now(),
                            block_trade=trade, accept_quote_id=trade.quote_id)
            record = rfq_rows.find_by_key(tx, rfq_key)
            for index, leg in enumerate(trade.legs):
                fill_id = str(leg.trade_id) if leg.trade_id is not None else \
                    f"{trade.block_trade_id}:{index}"
                fill = Fill(trade_id=leg.trade_id or 0, order_id=leg.order_id or 0,
                            symbol=leg.symbol, side=leg.side, qty=leg.qty, price=leg.price,
                            fee=leg.fee, at=trade.at or self.now())
                order_rows.insert_fill(tx, fill, None, "block_trade", fill_id)
                if record is not None:
                    tx.execute("UPDATE fills SET trade_id = ?, purpose = ? WHERE"
                               " exchange_trade_id = ?",
                               (record.trade_id, record.purpose.value, str(fill_id)))
        return self._must_find_rfq(rfq_key)

    def find_rfq(self, request_id: str) -> RfqRecord | None:
        return rfq_rows.find_by_request_id(self._connection, request_id)

    def find_rfq_by_key(self, rfq_key: str) -> RfqRecord | None:
        return rfq_rows.find_by_key(self._connection, rfq_key)

    def active_rfqs(self, trade_id: str | None = None) -> list[RfqRecord]:
        """RFQs not yet final: intent, active, accepting or accept-unknown (all of them
        read once until this connection next changes a row: memo.py)."""
        where, params = rfq_rows.active_where(trade_id)
        if trade_id is None:
            return self._memo.rows(self._connection, "active_rfqs", lambda: rfq_rows.select(
                self._connection, where, params))
        return rfq_rows.select(self._connection, where, params)

    def rfqs_for_trade(self, trade_id: str) -> list[RfqRecord]:
        return rfq_rows.select(self._connection, "trade_id = ?", (trade_id,))

    def _set_rfq(self, rfq_key: str, state: RfqLedgerState, **columns: object) -> RfqRecord:
        with self.transaction() as tx:
            rfq_rows.update(tx, rfq_key, state, self.now(), **columns)
        return self._must_find_rfq(rfq_key)

    def _must_find_rfq(self, rfq_key: str) -> RfqRecord:
        record = rfq_rows.find_by_key(self._connection, rfq_key)
        if record is None:
            raise KeyError(f"RFQ {rfq_key} is not in the ledger")
        return record
