"""What the exchange did with a position at expiry: one row of its exercise history.

Coincall cash-settles every option at 08:00 UTC on its expiry day and reports each
settled position in the exercise history (`GET /open/settle/exercise/history/v1`,
coincall-api.md 6.2) with the exercise fee it charged. That fee moves the account's
cash like a trading fee but belongs to no order, so it is booked at settlement from
this record (lessons E6, G2). One row is the whole account position in a symbol; a
trade holding part of it carries its share of the fee (`fee_share`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Exercise:
    """One position the exchange settled at expiry, and the exercise fee it charged."""

    symbol: str
    qty: Decimal  # signed: long > 0, short < 0 (the position that was settled)
    fee: Decimal | None  # charged (>= 0, USD); None when the row did not say
    at: datetime | None = None
    settlement_price: Decimal | None = None  # the exercise (delivery) price
    strike: Decimal | None = None
    net_cash_flow: Decimal | None = None  # as the exchange reports it (fee not included)

    def fee_share(self, held: Decimal) -> Decimal | None:
        """The part of the fee owed to `held` of this position (all of it at most)."""
        if self.fee is None:
            return None
        size = abs(self.qty)
        if size == 0:
            return self.fee
        return self.fee * min(abs(held) / size, Decimal(1))
