"""Orders in our own words: sides, statuses, requests, the exchange's view, fills.

The exchange adapters translate to and from these; the core never sees wire
encodings (integers for sides, strings for numbers). Client order ids are derived
deterministically from what the order is for, so that an intent written before a
request can always be found again on the exchange (lessons A1, D3).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

# Coincall's clientOrderId is a signed 64-bit long; stay well inside it and above 0.
_CLIENT_ID_BITS: Final = 62


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return _SELL if self is _BUY else _BUY

    @property
    def sign(self) -> int:
        """+1 for buys (a debit), -1 for sells (a credit)."""
        return 1 if self is _BUY else -1


# The members as plain names: reading `Side.BUY` goes through the Enum class's lookup, a
# cost every PnL and greek of every held leg paid on every tick (issue 11 item 4).
_BUY: Final = Side.BUY
_SELL: Final = Side.SELL


class OrderStatus(StrEnum):
    """Lifecycle of an order as the exchange reports it (coincall-api.md section 5)."""

    PENDING = "pending"  # accepted, not yet working (Coincall PRE)
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELING = "canceling"  # PRE_CANCEL / CANCELING: still in flight
    CANCELED = "canceled"
    REJECTED = "rejected"  # INVALID / ILLEGAL
    CANCELED_BY_EXERCISE = "canceled_by_exercise"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATUSES

    @property
    def is_live(self) -> bool:
        return not self.is_final


_FINAL_STATUSES: Final = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED,
     OrderStatus.CANCELED_BY_EXERCISE}
)


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A limit order to place; price and qty must already be on the tick and lot grid."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    client_order_id: int
    reduce_only: bool = False
    post_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC


@dataclass(frozen=True, slots=True)
class Order:
    """The exchange's view of one order (open, or looked up by id)."""

    order_id: int
    client_order_id: int | None
    symbol: str
    side: Side
    qty: Decimal
    filled_qty: Decimal
    price: Decimal
    avg_price: Decimal
    status: OrderStatus
    reduce_only: bool = False
    fee: Decimal = Decimal(0)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def remaining_qty(self) -> Decimal:
        return max(Decimal(0), self.qty - self.filled_qty)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of our orders (a trade-history row)."""

    trade_id: int
    order_id: int
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    at: datetime
    is_taker: bool = True
    reduce_only: bool = False


def client_order_id(*parts: object) -> int:
    """Derive a stable positive 62-bit id from what an order is for.

    The same parts always give the same id, so a retry after a lost reply asks the
    exchange about the very order it may already hold instead of placing another.
    Callers include an attempt number among the parts to get a fresh id per requote.
    """
    text = "|".join(str(part) for part in parts).encode()
    digest = hashlib.sha256(text).digest()
    value = int.from_bytes(digest[:8], "big") >> (64 - _CLIENT_ID_BITS)
    return value or 1
