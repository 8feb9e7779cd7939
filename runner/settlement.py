"""Booking a trade whose options expired: cash settled at intrinsic value (lessons G1, G2).

Coincall settles at 08:00 UTC against its delivery price, and only that price makes the
booked PnL agree with the account: the index a later tick happens to see is not it (a
tick at 08:00:01 booked 78.87 where the venue settled 71.10). So each expired leg is
closed at its intrinsic value against the exchange's delivery price for its
(underlying, expiry), read by the caller through the port (`Exchange.delivery_price`).

Invariant: a trade is settled whole or not at all. While any expired leg's delivery
price is unknown (not published yet, or unreadable this tick) the trade is returned
unchanged and settled on a later tick: a missing price never becomes a settlement at 0
or at a guessed price. No close order is ever sent for an expired leg.

Not booked: the exchange's exercise fee (lessons E6). The port does not say what it was;
Coincall reports it in the exercise history (`/open/settle/exercise/history/v1`), which
no port method reads yet, so realised PnL net of fees misses it for ITM settlements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from runner.domain.instruments import OptionKind, SymbolParts, Underlying, parse_symbol
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange

Series = tuple[Underlying, datetime]
DeliveryPrices = Mapping[Series, Decimal | None]


def expired_series(trade: Trade, now: datetime) -> tuple[Series, ...]:
    """Each (underlying, expiry) of a held leg that has expired by `now`, in leg order."""
    found: dict[Series, None] = {}
    for leg in trade.legs:
        parts = parse_symbol(leg.symbol)
        if leg.open_qty > 0 and now >= parts.expiry:
            found[(parts.underlying, parts.expiry)] = None
    return tuple(found)


def settle_trade(trade: Trade, delivery: DeliveryPrices, now: datetime) -> Trade:
    """Close every expired leg at intrinsic value against its delivery price.

    CLOSED once nothing is held; unchanged while any expired leg's price is missing. A
    FAILED trade that still held legs (a close that gave up) keeps its stage: the legs
    are booked as settled so the store agrees with the exchange again (R-C4).
    """
    missing = [series for series in expired_series(trade, now)
               if not _usable(delivery.get(series))]
    if missing:
        return trade
    for leg in trade.legs:
        parts = parse_symbol(leg.symbol)
        if leg.open_qty > 0 and now >= parts.expiry:
            price = delivery[(parts.underlying, parts.expiry)]
            assert price is not None  # noqa: S101 (checked above)
            trade = trade.with_leg(_settled(leg, parts, price))
    if not trade.is_flat or trade.stage.is_terminal:
        return trade  # a FAILED trade keeps its stage; only what it held is booked
    if trade.stage is TradeStage.OPEN:
        trade = trade.moved_to(TradeStage.PENDING_CLOSE, "expiry: options expired", now)
    return trade.moved_to(TradeStage.CLOSED, "expiry: settled at intrinsic value", now)


def settlement_price_from(exchange: Exchange) -> Callable[[Underlying, datetime],
                                                          Decimal | None]:
    """`exchange.delivery_price` as start-up reconciliation's settlement price.

    A read that fails counts as "not known": reconciliation must not crash on it.
    """
    def price(underlying: Underlying, expiry: datetime) -> Decimal | None:
        try:
            return exchange.delivery_price(underlying, expiry)
        except ExchangeError:
            return None

    return price


def intrinsic_value(parts: SymbolParts, delivery_price: Decimal) -> Decimal:
    """Per coin: max(price - strike, 0) for a call, max(strike - price, 0) for a put."""
    if parts.kind is OptionKind.CALL:
        return max(delivery_price - parts.strike, Decimal(0))
    return max(parts.strike - delivery_price, Decimal(0))


def _settled(leg: TradeLeg, parts: SymbolParts, delivery_price: Decimal) -> TradeLeg:
    return leg.with_close_fill(leg.open_qty, intrinsic_value(parts, delivery_price))


def _usable(price: Decimal | None) -> bool:
    return price is not None and price > 0
