"""Commands the executors emit and the events their outcomes come back as.

Executors are pure state machines: they never call the exchange. They return
commands; `dispatch` alone turns a command into "write the intent, then send", and
feeds what happened back as events on the next step. That makes "intent before
action" true by construction (design decision 5) and lets a restart resume an
executor from the store.

Idempotency: an order's key is (trade, leg, purpose, reason, attempt), from which the
client order id is derived (lessons B2, B4): placing the same key twice finds the
first order instead of creating a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from runner.domain.client_ids import tagged_client_order_id
from runner.domain.orders import Order, OrderRequest, client_order_id
from runner.domain.rfq import BlockTrade, Rfq, RfqLeg, RfqQuote


class OrderPurpose(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    UNWIND = "unwind"  # trading back the filled legs of an open that failed


@dataclass(frozen=True, slots=True)
class OrderKey:
    """What an order is for; the client order id is derived from it."""

    trade_id: str
    leg_index: int
    purpose: OrderPurpose
    reason: str
    attempt: int
    # The strategy, carried in the client order id so a lost store can be recounted from
    # the exchange (issue 7); "" (keys saved before) keeps the earlier id layout.
    strategy: str = ""

    @property
    def client_order_id(self) -> int:
        parts = (self.leg_index, self.purpose.value, self.reason, self.attempt)
        if self.strategy:
            return tagged_client_order_id(self.strategy, self.trade_id,
                                          self.purpose is OrderPurpose.OPEN, *parts)
        return client_order_id(self.trade_id, *parts)


# -- commands ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlaceOrder:
    key: OrderKey
    request: OrderRequest


@dataclass(frozen=True, slots=True)
class CancelOrder:
    trade_id: str
    client_order_id: int
    order_id: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class CreateRfq:
    trade_id: str
    purpose: OrderPurpose
    attempt: int
    legs: tuple[RfqLeg, ...]


@dataclass(frozen=True, slots=True)
class AcceptQuote:
    trade_id: str
    request_id: str
    quote_id: str
    expected_cost: Decimal


@dataclass(frozen=True, slots=True)
class CancelRfq:
    trade_id: str
    request_id: str
    reason: str


Command = PlaceOrder | CancelOrder | CreateRfq | AcceptQuote | CancelRfq


# -- events --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrderAccepted:
    client_order_id: int
    order_id: int


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """The exchange's current view of one of our orders (fills are cumulative per order)."""

    order: Order


@dataclass(frozen=True, slots=True)
class OrderRejected:
    client_order_id: int
    code: int | None
    message: str


@dataclass(frozen=True, slots=True)
class OrderOutcomeUnknown:
    """The send may or may not have happened and the lookup has not settled it yet."""

    client_order_id: int


@dataclass(frozen=True, slots=True)
class RfqCreated:
    trade_id: str
    rfq: Rfq
    attempt: int | None = None  # CreateRfq.attempt: never taken by another request's execution


@dataclass(frozen=True, slots=True)
class QuotesReceived:
    request_id: str
    quotes: tuple[RfqQuote, ...]


@dataclass(frozen=True, slots=True)
class QuoteAccepted:
    request_id: str
    trade: BlockTrade


@dataclass(frozen=True, slots=True)
class RfqFailed:
    trade_id: str
    request_id: str | None
    code: int | None
    message: str
    # Which request of the trade failed (CreateRfq.attempt), when known: a failure without
    # a request id must not be taken by a later request of the same trade.
    attempt: int | None = None


Event = (OrderAccepted | OrderUpdated | OrderRejected | OrderOutcomeUnknown | RfqCreated
         | QuotesReceived | QuoteAccepted | RfqFailed)
