"""RFQ (block trade) vocabulary for the taker side, and the one pricing formula.

Quote legs carry the *maker's* side: a maker SELL means we buy and pay, a maker BUY
means we sell and receive (coincall-api.md 6.4). Costs are signed from our point of
view: positive is a debit (we pay), negative a credit. Improvement over the book is
`(book - quote) / |book| x 100`, positive is better for either direction (lessons B14).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from runner.domain.orders import Side


class RfqState(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    FILLED = "filled"
    EXPIRED = "expired"
    TRADED_AWAY = "traded_away"

    @property
    def is_final(self) -> bool:
        return self is not RfqState.ACTIVE


class QuoteState(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"
    FILLED = "filled"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class RfqLeg:
    """One leg of a request, with *our* side."""

    symbol: str
    side: Side
    qty: Decimal


@dataclass(frozen=True, slots=True)
class Rfq:
    request_id: str
    state: RfqState
    legs: tuple[RfqLeg, ...]
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class QuoteLeg:
    """One leg of a maker's quote, with the *maker's* side."""

    symbol: str
    maker_side: Side
    price: Decimal
    qty: Decimal

    @property
    def taker_side(self) -> Side:
        return self.maker_side.opposite


@dataclass(frozen=True, slots=True)
class RfqQuote:
    quote_id: str
    request_id: str
    state: QuoteState
    legs: tuple[QuoteLeg, ...]
    expires_at: datetime

    def taker_cost(self) -> Decimal:
        """What accepting costs us: + where the maker sells (we pay), - where it buys."""
        return sum(
            (leg.taker_side.sign * leg.price * leg.qty for leg in self.legs), Decimal(0)
        )

    def matches_direction(self, wanted: tuple[RfqLeg, ...]) -> bool:
        """True when accepting trades every leg in the direction we asked for."""
        ours = {leg.symbol: leg.side for leg in wanted}
        return len(self.legs) == len(wanted) and all(
            ours.get(leg.symbol) is leg.taker_side for leg in self.legs
        )


@dataclass(frozen=True, slots=True)
class BlockTradeLeg:
    """One executed leg, with *our* side (accept results carry the taker's side)."""

    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    fee: Decimal = Decimal(0)
    order_id: int | None = None
    trade_id: int | None = None


@dataclass(frozen=True, slots=True)
class BlockTrade:
    block_trade_id: str
    request_id: str
    quote_id: str
    legs: tuple[BlockTradeLeg, ...]
    at: datetime | None = None


def improvement_pct(book_cost: Decimal, quote_cost: Decimal) -> Decimal | None:
    """Percent by which a quote beats the orderbook for the same legs; None without a base."""
    if book_cost == 0:
        return None
    return (book_cost - quote_cost) / abs(book_cost) * Decimal(100)
