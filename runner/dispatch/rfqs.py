"""RFQ commands and polling: create, accept (never retried), cancel, quotes (lessons B13).

Every action writes the RFQ ledger first: the create intent (keyed by trade, purpose and
attempt), the chosen quote before the accept. The runner trades with a taker key, for
which Coincall answers `rfqList` with HTTP 404 (coincall-api.md pitfall 7), so nothing
here looks a request up: the runner knows its requests by what it recorded (id, expiry,
chosen quote) and by what the private block-trade list (trade-detail) shows.

- A create that fails for any reason other than an answer is marked final and reported
  (`RfqFailed`), so the executor decides whether to try again under a new attempt. An
  RFQ whose create answer was lost has no id in the ledger: it can never be accepted
  (only we could) nor cancelled (there is no id to name), and simply expires on the
  venue (about an hour).
- An accept whose answer was lost, or whose intent a dead process wrote but may never
  have sent, is resolved from the block trades since the request was created, matched
  by request id or by the chosen quote id (pitfall 8). None found: the request is
  cancelled by its recorded id, which settles the race either way (a cancelled request
  can no longer be accepted; a cancel that comes too late finds it filled), and when
  still no block trade shows `ACCEPT_SETTLE_GRACE` after the cancel was answered, and
  the positions do not show the legs either (`accept_evidence`), the accept did not
  happen. Until then no event is produced, so the executor neither falls back nor
  accepts again.
- A request past its recorded expiry has expired: nothing can have filled it, since
  every accept goes through the ledger first.
- A cancel the exchange refuses (other than for the key) means the request is no
  longer active: it is final already, and recorded as cancelled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from runner.dispatch.accept_evidence import positions_show_the_legs
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
from runner.domain.rfq import BlockTrade, Rfq, RfqState
from runner.exchange.errors import (
    AuthenticationFailed,
    EndpointNotAvailable,
    ExchangeError,
    ExchangeRejected,
    ExchangeUnavailable,
)

if TYPE_CHECKING:
    from runner.domain.clock import Clock
    from runner.exchange.port import Exchange
    from runner.store import Store

CANCEL_PENDING: Final = "cancel pending: "  # an ACTIVE request the runner asked to cancel
# An unknown accept whose request was cancelled: the record's updated_at is the answer's time.
_SETTLING: Final = "unknown accept: request cancelled"
SETTLE_CANCEL_ANSWERED: Final = f"{_SETTLING}, watching the block trades"
SETTLE_POSITIONS_SHOW: Final = f"{_SETTLING}, positions show its legs: waiting for its block trade"
ACCEPT_SETTLE_GRACE: Final = timedelta(seconds=30)  # trade-detail may lag the trade itself


def cancel_refused_as_final(error: ExchangeError) -> bool:
    """True when a refused cancel says the request is no longer active (final already);
    a refusal of the key or of the call itself says nothing about the request."""
    return isinstance(error, ExchangeRejected) and not isinstance(
        error, (AuthenticationFailed, EndpointNotAvailable))


class RfqCommands:
    """The RFQ half of the Dispatcher."""

    exchange: Exchange
    store: Store
    clock: Clock

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
            return self._resolve_accept(record, self.clock.now())
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
            record = self.store.mark_rfq_state(record.rfq_key, RfqLedgerState.ACCEPT_UNKNOWN,
                                               exc.code, exc.message)
            self.store.audit("accept_quote", command.request_id, "outcome unknown",
                             error=str(exc))
            return self._resolve_accept(record, self.clock.now())
        self.store.record_block_trade(record.rfq_key, trade)
        self.store.audit("accept_quote", command.request_id, "filled",
                         block_trade_id=trade.block_trade_id)
        return [QuoteAccepted(command.request_id, trade)]

    def _resolve_accept(self, record: RfqRecord, now: datetime) -> list[Event]:
        request_id = record.request_id or ""
        try:
            trade = self._block_trade_of(record)
        except ExchangeError:
            return []
        if trade is not None:
            self.store.record_block_trade(record.rfq_key, trade)
            self.store.audit("block_trades", request_id, "accept adopted",
                             block_trade_id=trade.block_trade_id)
            return [QuoteAccepted(request_id, trade)]
        if not (record.error_message or "").startswith(_SETTLING):
            self._cancel_to_settle(record)
            return []
        if now - record.updated_at < ACCEPT_SETTLE_GRACE or self._positions_show_it(record, now):
            return []
        self.store.mark_rfq_state(record.rfq_key, RfqLedgerState.CANCELLED, None,
                                  "the accept did not happen")
        self.store.audit("block_trades", request_id, "accept did not happen",
                         grace_s=ACCEPT_SETTLE_GRACE.total_seconds())
        return [RfqFailed(record.trade_id, request_id, None,
                          "accept did not happen; request cancelled")]

    def _block_trade_of(self, record: RfqRecord) -> BlockTrade | None:
        """Our block trade on this request (by request id, or by the chosen quote's id)."""
        trades = self.exchange.block_trades(record.created_at - timedelta(minutes=1))
        quote_id = record.accept_quote_id
        return next((t for t in trades if t.request_id == record.request_id
                     or (quote_id is not None and t.quote_id == quote_id)), None)

    def _positions_show_it(self, record: RfqRecord, now: datetime) -> bool:
        """The second witness (`accept_evidence`): positions moved as the accept would
        have moved them, so wait for the block trade rather than risk trading twice;
        an unreadable account waits too. Bounded: past the request's own expiry (and a
        grace) the accept is settled as not traded whatever the positions say, and an
        unexplained position is reconciliation's to report."""
        if record.expires_at is not None and now >= record.expires_at + ACCEPT_SETTLE_GRACE:
            return False
        try:
            shown = positions_show_the_legs(record.legs, self.exchange.positions(),
                                            self.store.load_active_trades())
        except ExchangeError:
            return True
        if shown:
            self.store.mark_rfq_state(record.rfq_key, record.state, None, SETTLE_POSITIONS_SHOW)
            self.store.audit("positions", record.request_id or "", "show the accepted legs",
                             reason="waiting for the block trade")
        return shown

    def _cancel_to_settle(self, record: RfqRecord) -> None:
        """No block trade: the accept did not take (it was never sent, or is still in
        flight). Cancelling settles it either way, at once instead of at the request's
        expiry (about an hour, the trade stuck in OPENING or CLOSING meanwhile). Answered
        (done, or refused because the request is final): the grace starts now."""
        request_id = record.request_id or ""
        self.store.audit("cancel_rfq", request_id, "sending", reason="settle an unknown accept")
        try:
            self.exchange.cancel_rfq(request_id)
        except ExchangeError as exc:
            if not cancel_refused_as_final(exc):
                self.store.audit("cancel_rfq", request_id, "failed", error=str(exc))
                return
            self.store.audit("cancel_rfq", request_id, "refused: final already",
                             error=str(exc))
        self.store.mark_rfq_state(record.rfq_key, record.state, None, SETTLE_CANCEL_ANSWERED)

    def cancel_unwanted_rfq(self, record: RfqRecord, reason: str) -> str | None:
        """Cancel an active request no execution waits on (start-up reconciliation).

        The exchange's answer in words ("cancelled", or why a refusal means the request is
        final already), or None when the cancel could not be sent and nothing is known.
        The caller records the request's new state."""
        request_id = record.request_id or ""
        self.store.audit("cancel_rfq", request_id, "sending", reason=reason)
        try:
            self.exchange.cancel_rfq(request_id)
        except ExchangeError as exc:
            if not cancel_refused_as_final(exc):
                self.store.audit("cancel_rfq", request_id, "failed", error=str(exc))
                return None
            return f"its cancel was refused, it is final ({exc})"
        return "cancelled"

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
        outcome = "cancelled"
        try:
            self.exchange.cancel_rfq(request_id)
        except ExchangeError as exc:
            if not cancel_refused_as_final(exc):
                self.store.audit("cancel_rfq", request_id, "failed", error=str(exc))
                return
            outcome = "refused: final already"
            reason = f"{reason}; the cancel was refused, the request is final ({exc.message})"
        if record.state is RfqLedgerState.ACTIVE:
            self.store.mark_rfq_state(record.rfq_key, RfqLedgerState.CANCELLED, None, reason)
        self.store.audit("cancel_rfq", request_id, outcome)

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
                events.extend(self._resolve_accept(record, now))
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
        if record.expires_at is not None and now >= record.expires_at:
            self.store.mark_rfq_state(record.rfq_key, RfqLedgerState.EXPIRED, None, "expired")
            return [RfqFailed(record.trade_id, request_id, None, "request expired")]
        try:
            quotes = self.exchange.rfq_quotes(request_id)
        except ExchangeError:
            return []
        return [QuotesReceived(request_id, tuple(quotes))]


def _rfq_view(record: RfqRecord) -> Rfq:
    expires = record.expires_at or record.created_at
    state = RfqState.FILLED if record.state is RfqLedgerState.FILLED else RfqState.ACTIVE
    return Rfq(record.request_id or "", state, record.legs, record.created_at, expires)
