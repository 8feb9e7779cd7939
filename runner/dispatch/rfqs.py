"""RFQ commands and polling: create, accept (never retried), cancel, quotes (lessons B13).

Every action writes the RFQ ledger first: the create intent (keyed by trade, purpose and
attempt), the chosen quote before the accept. A create that fails for any reason other
than an answer is marked final and reported (`RfqFailed`), so the executor decides
whether to try again under a new attempt: an unanswered create has no request id and can
never be traded, it simply expires on the exchange. An accept whose answer was lost is
resolved from the block trades since the request was created (pitfall 8); until that
settles no event is produced, so the executor neither falls back nor accepts again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from runner.domain.commands import (
    AcceptQuote,
    CancelRfq,
    CreateRfq,
    Event,
    QuoteAccepted,
    QuotesReceived,
    RfqCreated,
    RfqFailed,
)
from runner.domain.ledger import RfqLedgerState, RfqRecord
from runner.domain.rfq import Rfq, RfqState
from runner.exchange.errors import ExchangeError, ExchangeRejected, ExchangeUnavailable

if TYPE_CHECKING:
    from runner.exchange.port import Exchange
    from runner.store import Store

CANCEL_PENDING: Final = "cancel pending: "  # an ACTIVE request the runner asked to cancel
_RFQ_FINAL_STATES: Final = {RfqState.CANCELLED: RfqLedgerState.CANCELLED,
                            RfqState.EXPIRED: RfqLedgerState.EXPIRED,
                            RfqState.TRADED_AWAY: RfqLedgerState.EXPIRED}


class RfqCommands:
    """The RFQ half of the Dispatcher."""

    exchange: Exchange
    store: Store

    def _create_rfq(self, command: CreateRfq) -> list[Event]:
        record = self.store.record_rfq_intent(command)
        if record.request_id is not None:
            return [RfqCreated(record.trade_id, _rfq_view(record), record.attempt)]
        if record.state is not RfqLedgerState.INTENT:
            return [RfqFailed(record.trade_id, None, record.error_code,
                              record.error_message or record.state.value, record.attempt)]
        self.store.audit("create_rfq", record.rfq_key, "sending",
                         legs=[f"{leg.side.value} {leg.qty} {leg.symbol}" for leg in record.legs])
        try:
            rfq = self.exchange.create_rfq(command.legs)
        except ExchangeRejected as exc:
            return self._rfq_failed(record, RfqLedgerState.REJECTED, exc)
        except ExchangeUnavailable as exc:
            return self._rfq_failed(record, RfqLedgerState.REJECTED, exc)
        except ExchangeError as exc:
            return self._rfq_failed(record, RfqLedgerState.CREATE_UNKNOWN, exc)
        self.store.mark_rfq_created(record.rfq_key, rfq)
        self.store.audit("create_rfq", record.rfq_key, "created", request_id=rfq.request_id)
        return [RfqCreated(record.trade_id, rfq, record.attempt)]

    def _rfq_failed(self, record: RfqRecord, state: RfqLedgerState,
                    exc: ExchangeError) -> list[Event]:
        self.store.mark_rfq_state(record.rfq_key, state, exc.code, exc.message)
        self.store.audit("rfq", record.rfq_key, state.value, code=exc.code, error=str(exc))
        return [RfqFailed(record.trade_id, record.request_id, exc.code, exc.message,
                          record.attempt)]

    def _accept(self, command: AcceptQuote) -> list[Event]:
        record = self.store.find_rfq(command.request_id)
        if record is None:
            self.store.audit("accept_quote", command.request_id, "refused", reason="unknown")
            return [RfqFailed(command.trade_id, command.request_id, None, "not our request")]
        if record.state is RfqLedgerState.FILLED and record.block_trade is not None:
            return [QuoteAccepted(command.request_id, record.block_trade)]
        if record.state.needs_accept_lookup:
            return self._resolve_accept(record)
        if record.state is not RfqLedgerState.ACTIVE:
            return [RfqFailed(record.trade_id, command.request_id, None,
                              f"request is {record.state.value}")]
        with self.store.transaction():
            record = self.store.record_accept_intent(record.rfq_key, command.quote_id,
                                                     command.expected_cost)
            self.store.audit("accept_quote", command.request_id, "sending",
                             quote_id=command.quote_id, expected_cost=command.expected_cost)
        try:
            trade = self.exchange.accept_quote(command.request_id, command.quote_id)
        except ExchangeRejected as exc:
            return self._rfq_failed(record, RfqLedgerState.ACTIVE, exc)
        except ExchangeError as exc:  # never retried: resolved from the block trades
            self.store.mark_rfq_state(record.rfq_key, RfqLedgerState.ACCEPT_UNKNOWN, exc.code,
                                      exc.message)
            self.store.audit("accept_quote", command.request_id, "outcome unknown",
                             error=str(exc))
            return self._resolve_accept(record)
        self.store.record_block_trade(record.rfq_key, trade)
        self.store.audit("accept_quote", command.request_id, "filled",
                         block_trade_id=trade.block_trade_id)
        return [QuoteAccepted(command.request_id, trade)]

    def _resolve_accept(self, record: RfqRecord) -> list[Event]:
        request_id = record.request_id or ""
        try:
            trades = self.exchange.block_trades(record.created_at - timedelta(minutes=1))
            matched = [t for t in trades if t.request_id == request_id]
            rfq = None if matched else self.exchange.get_rfq(request_id)
        except ExchangeError:
            return []
        if matched:
            self.store.record_block_trade(record.rfq_key, matched[0])
            self.store.audit("block_trades", request_id, "accept adopted",
                             block_trade_id=matched[0].block_trade_id)
            return [QuoteAccepted(request_id, matched[0])]
        if rfq is not None and rfq.state is RfqState.ACTIVE:
            rfq = self._cancel_to_settle(request_id)
        if rfq is not None and rfq.state in _RFQ_FINAL_STATES:
            state = _RFQ_FINAL_STATES[rfq.state]
            self.store.mark_rfq_state(record.rfq_key, state, None, "the accept did not happen")
            self.store.audit("block_trades", request_id, "accept did not happen")
            return [RfqFailed(record.trade_id, request_id, None,
                              f"accept did not happen; request {rfq.state.value}")]
        return []

    def _cancel_to_settle(self, request_id: str) -> Rfq | None:
        """No block trade, yet the request is still active: the accept did not take (it
        was never sent, or is still in flight). Cancelling settles it either way: a
        cancelled request can no longer be accepted, and a cancel that comes too late
        leaves it FILLED, whose block trade the next lookup finds. Without this, an
        accept intent the process died before sending waits for the request to expire
        (about an hour), with the trade stuck in OPENING or CLOSING."""
        self.store.audit("cancel_rfq", request_id, "sending", reason="settle an unknown accept")
        try:
            self.exchange.cancel_rfq(request_id)
            return self.exchange.get_rfq(request_id)
        except ExchangeError as exc:
            self.store.audit("cancel_rfq", request_id, "failed", error=str(exc))
            return None

    def _cancel_rfq(self, command: CancelRfq) -> list[Event]:
        record = self.store.find_rfq(command.request_id)
        if record is None:
            self.store.audit("cancel_rfq", command.request_id, "refused", reason="unknown")
            return []
        if record.state is RfqLedgerState.ACTIVE:  # remembered: a failed cancel is retried
            self.store.mark_rfq_state(record.rfq_key, RfqLedgerState.ACTIVE, None,
                                      f"{CANCEL_PENDING}{command.reason}")
        self._send_cancel(record, command.reason)
        return []

    def _send_cancel(self, record: RfqRecord, reason: str) -> None:
        """Cancel on the exchange; the ledger says CANCELLED only once that succeeded, so an
        unanswered cancel is sent again at the next poll instead of leaving the request
        active (its quotes polled every tick) until it expires."""
        request_id = record.request_id or ""
        self.store.audit("cancel_rfq", request_id, "sending", reason=reason)
        try:
            self.exchange.cancel_rfq(request_id)
        except ExchangeError as exc:
            self.store.audit("cancel_rfq", request_id, "failed", error=str(exc))
            return
        if record.state is RfqLedgerState.ACTIVE:
            self.store.mark_rfq_state(record.rfq_key, RfqLedgerState.CANCELLED, None, reason)
        self.store.audit("cancel_rfq", request_id, "cancelled")

    def poll_rfqs(self, now: datetime) -> list[Event]:
        """Quotes for active requests; settle lost accepts and requests left as intents."""
        events: list[Event] = []
        for record in self.store.active_rfqs():
            if record.state is RfqLedgerState.INTENT:
                self.store.mark_rfq_state(record.rfq_key, RfqLedgerState.CREATE_UNKNOWN, None,
                                          "create interrupted before its answer was recorded")
                events.append(RfqFailed(record.trade_id, None, None, "create interrupted",
                                        record.attempt))
            elif record.state.needs_accept_lookup:
                events.extend(self._resolve_accept(record))
            elif record.request_id is not None:
                events.extend(self._poll_active(record, now))
        return events

    def _poll_active(self, record: RfqRecord, now: datetime) -> list[Event]:
        request_id = record.request_id or ""
        message = record.error_message or ""
        if message.startswith(CANCEL_PENDING):
            if record.expires_at is not None and now >= record.expires_at:
                self.store.mark_rfq_state(record.rfq_key, RfqLedgerState.EXPIRED, None,
                                          "expired while its cancel was pending")
            else:
                self._send_cancel(record, message.removeprefix(CANCEL_PENDING))
            return []
        try:
            if record.expires_at is not None and now >= record.expires_at:
                rfq = self.exchange.get_rfq(request_id)
                if rfq is None or rfq.state in _RFQ_FINAL_STATES:
                    self.store.mark_rfq_state(record.rfq_key, RfqLedgerState.EXPIRED, None,
                                              "expired")
                    return [RfqFailed(record.trade_id, request_id, None, "request expired")]
            quotes = self.exchange.rfq_quotes(request_id)
        except ExchangeError:
            return []
        return [QuotesReceived(request_id, tuple(quotes))]


def _rfq_view(record: RfqRecord) -> Rfq:
    expires = record.expires_at or record.created_at
    state = RfqState.FILLED if record.state is RfqLedgerState.FILLED else RfqState.ACTIVE
    return Rfq(record.request_id or "", state, record.legs, record.created_at, expires)
