"""Expiry at 08:00 UTC: cancel working orders, cash-settle positions at intrinsic value.

Invariant: after `settle_expiry` no position and no working order refers to an instrument
that expired at that moment. The settlement (delivery) price is the index at exactly
08:00:00 UTC; each position receives or pays qty x intrinsic value, minus an exercise fee
that is 0 for options expiring out of the money; realised PnL = (intrinsic - average
price) x qty is booked (lessons G1, G2: expiry is a lifecycle event, never booked at 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from runner.domain.instruments import Instrument, Underlying
from runner.sim.accounting import Ledger, settlement_fee
from runner.sim.config import SimConfig
from runner.sim.matching import Matcher
from runner.sim.records import ExerciseRecord


@dataclass(frozen=True, slots=True)
class DeliveryPrice:
    """The settlement price of one underlying at one expiry."""

    underlying: Underlying
    expiry: datetime
    price: Decimal


def daily_deliveries(boundary: datetime,
                     prices: dict[Underlying, Decimal]) -> list[DeliveryPrice]:
    """The settlement prices published at one daily 08:00: one per underlying, every day,
    whether or not anything expires then (Coincall publishes a price each day)."""
    return [DeliveryPrice(underlying, boundary, price) for underlying, price in prices.items()]


def settle_expiry(*, moment: datetime, delisted: list[Instrument],
                  delivery: dict[Underlying, Decimal], ledger: Ledger, matcher: Matcher,
                  config: SimConfig) -> list[ExerciseRecord]:
    """Cancel orders of and settle positions in the instruments expiring at `moment`."""
    matcher.cancel_expired(delisted, moment)
    records = []
    for instrument in delisted:
        state = ledger.positions.get(instrument.symbol)
        if state is None:
            continue
        price = delivery[instrument.underlying]
        value = instrument.intrinsic_value(price)
        fee = settlement_fee(config, index=price, qty=abs(state.qty), intrinsic=value)
        qty = state.qty
        realized = (value - state.avg_price) * qty
        flow = ledger.settle(instrument.symbol, price, fee)
        records.append(ExerciseRecord(
            symbol=instrument.symbol, at=moment, qty=qty, strike=instrument.strike,
            settlement_price=price, intrinsic_value=value, net_cash_flow=flow, fee=fee,
            realized_pnl=realized))
    return records
