"""The order and RFQ ledgers in domain words, and how executions become leg fills.

A ledger row is written *before* its request is sent (lessons A1, D3) and follows the
request through its life. The order ledger is keyed by the client order id, which is
derived from the `OrderKey` (trade, leg, purpose, reason, attempt), so the same key can
always be found again on the exchange (lessons B2, B4).

Fills are credited from exchange truth: the exchange's cumulative filled quantity per
order, summed over every order a leg ever had, plus the legs of block trades (lessons
B7, I2). `credit_executions` only ever adds what the trade has not yet counted, so it
is idempotent and can run on every start and every tick.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from runner.domain.commands import OrderKey, OrderPurpose
from runner.domain.orders import Order, OrderRequest, OrderStatus
from runner.domain.rfq import BlockTrade, RfqLeg
from runner.domain.trades import ZERO, Trade, TradeLeg


class LedgerStatus(StrEnum):
    """Where an order request stands from the runner's point of view."""

    INTENT = "intent"  # written; not (successfully) sent yet; safe to send under this id
    SENT = "sent"  # the request is going out; the reply has not been processed
    ACCEPTED = "accepted"  # the exchange holds it and it is (or was last seen) working
    UNKNOWN = "unknown"  # the send may have happened; resolved by lookup by client id
    REJECTED = "rejected"  # the exchange refused it, or it provably never reached it
    FINAL = "final"  # the exchange reports it filled, cancelled or otherwise final

    @property
    def is_live(self) -> bool:
        """True while an order may be, or may become, working on the exchange."""
        return self in _LIVE


_LIVE = frozenset({LedgerStatus.INTENT, LedgerStatus.SENT, LedgerStatus.ACCEPTED,
                   LedgerStatus.UNKNOWN})


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    """One order request and the exchange's last known view of it."""

    key: OrderKey
    request: OrderRequest
    status: LedgerStatus
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    send_attempts: int = 0
    order_id: int | None = None
    exchange_status: OrderStatus | None = None
    filled_qty: Decimal = ZERO  # cumulative, as last reported by the exchange
    avg_price: Decimal | None = None
    fee: Decimal = ZERO  # cumulative
    error_code: int | None = None
    error_message: str | None = None
    cancel_requested_at: datetime | None = None
    cancel_reason: str | None = None

    @property
    def client_order_id(self) -> int:
        return self.request.client_order_id

    @property
    def trade_id(self) -> str:
        return self.key.trade_id

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def is_live(self) -> bool:
        return self.status.is_live

    def as_order(self) -> Order | None:
        """The exchange's last known view, or None before the exchange gave an id."""
        if self.order_id is None:
            return None
        status = self.exchange_status or OrderStatus.NEW
        return Order(order_id=self.order_id, client_order_id=self.client_order_id,
                     symbol=self.request.symbol, side=self.request.side, qty=self.request.qty,
                     filled_qty=self.filled_qty, price=self.request.price,
                     avg_price=self.avg_price or ZERO, status=status,
                     reduce_only=self.request.reduce_only, fee=self.fee,
                     created_at=self.sent_at, updated_at=self.updated_at)


class RfqLedgerState(StrEnum):
    INTENT = "intent"  # create written, not yet answered
    ACTIVE = "active"  # the exchange holds the request; quotes may arrive
    CREATE_UNKNOWN = "create_unknown"  # create answer lost; no id, cannot be traded
    ACCEPTING = "accepting"  # accept written, answer pending (never resent)
    ACCEPT_UNKNOWN = "accept_unknown"  # accept answer lost: resolved via block trades
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"  # the create was refused

    @property
    def is_final(self) -> bool:
        return self in _RFQ_FINAL

    @property
    def needs_accept_lookup(self) -> bool:
        return self in (RfqLedgerState.ACCEPTING, RfqLedgerState.ACCEPT_UNKNOWN)


_RFQ_FINAL = frozenset({RfqLedgerState.FILLED, RfqLedgerState.CANCELLED,
                        RfqLedgerState.EXPIRED, RfqLedgerState.REJECTED,
                        RfqLedgerState.CREATE_UNKNOWN})


@dataclass(frozen=True, slots=True)
class RfqRecord:
    """One RFQ of a trade, from the create intent to its block trade."""

    rfq_key: str  # trade|purpose|attempt: known before the exchange gives a request id
    trade_id: str
    purpose: OrderPurpose
    attempt: int
    legs: tuple[RfqLeg, ...]
    state: RfqLedgerState
    created_at: datetime
    updated_at: datetime
    request_id: str | None = None
    expires_at: datetime | None = None
    accept_quote_id: str | None = None
    expected_cost: Decimal | None = None
    accept_requested_at: datetime | None = None
    block_trade: BlockTrade | None = None
    error_code: int | None = None
    error_message: str | None = None


def rfq_key(trade_id: str, purpose: OrderPurpose, attempt: int) -> str:
    return f"{trade_id}|{purpose.value}|{attempt}"


@dataclass(frozen=True, slots=True)
class LegExecution:
    """Quantity executed on one leg for one purpose, at an average price, with fees."""

    leg_index: int
    purpose: OrderPurpose
    qty: Decimal
    price: Decimal
    fee: Decimal = ZERO


def executions_from_orders(orders: Iterable[LedgerOrder]) -> list[LegExecution]:
    """What every order of a trade executed, as the exchange last reported it."""
    return [LegExecution(o.key.leg_index, o.key.purpose, o.filled_qty, o.avg_price or ZERO,
                         o.fee)
            for o in orders if o.filled_qty > 0]


def executions_from_rfq(record: RfqRecord, trade: Trade) -> list[LegExecution]:
    """The legs of an RFQ's block trade, matched to the trade's legs by symbol."""
    if record.block_trade is None:
        return []
    by_symbol = {leg.symbol: leg.index for leg in trade.legs}
    return [LegExecution(by_symbol[leg.symbol], record.purpose, leg.qty, leg.price, leg.fee)
            for leg in record.block_trade.legs if leg.symbol in by_symbol]


def credit_executions(trade: Trade, executions: Iterable[LegExecution]) -> Trade:
    """Add to each leg whatever the executions show beyond what the leg already counts.

    Opening executions raise `filled_qty`, close and unwind executions raise
    `closed_qty` (never beyond what is held). Nothing is ever subtracted, so running
    this again with the same executions changes nothing (lessons A7, I2).
    """
    totals: dict[tuple[int, bool], list[Decimal]] = {}
    for execution in executions:
        opening = execution.purpose is OrderPurpose.OPEN
        qty, value, fee = totals.setdefault((execution.leg_index, opening), [ZERO, ZERO, ZERO])
        totals[(execution.leg_index, opening)] = [qty + execution.qty,
                                                  value + execution.qty * execution.price,
                                                  fee + execution.fee]
    for leg in trade.legs:
        trade = trade.with_leg(_credit_leg(leg, totals))
    return trade


def _credit_leg(leg: TradeLeg, totals: dict[tuple[int, bool], list[Decimal]]) -> TradeLeg:
    fees_seen = ZERO
    open_qty, open_value, open_fee = totals.get((leg.index, True), [ZERO, ZERO, ZERO])
    fees_seen += open_fee
    missing = open_qty - leg.filled_qty
    if missing > 0:
        counted_value = (leg.entry_price or ZERO) * leg.filled_qty
        leg = leg.with_open_fill(missing, (open_value - counted_value) / missing)
    close_qty, close_value, close_fee = totals.get((leg.index, False), [ZERO, ZERO, ZERO])
    fees_seen += close_fee
    missing = min(close_qty - leg.closed_qty, leg.open_qty)
    if missing > 0:
        counted_value = (leg.exit_price or ZERO) * leg.closed_qty
        leg = leg.with_close_fill(missing, (close_value - counted_value) / missing)
    if fees_seen > leg.fees:
        leg = replace(leg, fees=fees_seen)
    return leg
