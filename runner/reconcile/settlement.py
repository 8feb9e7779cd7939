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

The exercise fee (lessons E6, issue 8 finding 12): Coincall charges one when it settles
a position and reports it in its exercise history (`Exchange.exercises`), not in any fill.
Each settled leg carries its share of that fee (`Exercise.fee_share`: the row is the
whole account position in the symbol), so the trade's net PnL equals the venue's cash
change. A leg that expired out of the money is booked with no fee and nothing is read for
it. For a leg that expired in the money the fee must be in the history; until it is (not
processed yet, or the history unreadable this tick) the trade waits, like for a missing
delivery price, but never forever: `EXERCISE_FEE_WAIT` after the expiry it is booked
without the fee, and the CLOSED transition says so. The exchange may publish it later;
the runner does not amend a closed trade (an operator reconciles it from the note).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from runner.domain.exercise import Exercise
from runner.domain.instruments import OptionKind, SymbolParts, Underlying, parse_symbol
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange

Series = tuple[Underlying, datetime]
DeliveryPrices = Mapping[Series, Decimal | None]
# How long after an expiry an in-the-money settlement waits for its exercise fee before it
# is booked without it. Coincall settles at 08:00; the docs do not say when the history row
# appears, so the wait is short enough not to hold a daily strategy's next cycle for long.
EXERCISE_FEE_WAIT: Final = timedelta(minutes=30)
_HISTORY_SLACK: Final = timedelta(days=1)  # rows stamped a little before the expiry moment


def expired_series(trade: Trade, now: datetime) -> tuple[Series, ...]:
    """Each (underlying, expiry) of a held leg that has expired by `now`, in leg order."""
    found: dict[Series, None] = {}
    for leg in trade.legs:
        parts = parse_symbol(leg.symbol)
        if leg.open_qty > 0 and now >= parts.expiry:
            found[(parts.underlying, parts.expiry)] = None
    return tuple(found)


def settle_trade(trade: Trade, delivery: DeliveryPrices, now: datetime,
                 exercises: Sequence[Exercise] | None = ()) -> Trade:
    """Close every expired leg at intrinsic value against its delivery price, with its
    share of the exercise fee from `exercises` (the venue's history; None = unreadable).

    CLOSED once nothing is held; unchanged while any expired leg's price is missing, or an
    in-the-money leg's fee is, within `EXERCISE_FEE_WAIT`. A FAILED trade that still held
    legs (a close that gave up) keeps its stage: the legs are booked as settled so the
    store agrees with the exchange again (R-C4).
    """
    missing = [series for series in expired_series(trade, now)
               if not _usable(delivery.get(series))]
    if missing:
        return trade
    fees = exercise_fees(trade, delivery, now, exercises)
    unknown = [symbol for symbol, fee in fees.items() if fee is None]
    if unknown and now < _fee_deadline(trade, now):
        return trade  # the fee is not published yet: settle on a later tick
    for leg in trade.legs:
        parts = parse_symbol(leg.symbol)
        if leg.open_qty > 0 and now >= parts.expiry:
            price = delivery[(parts.underlying, parts.expiry)]
            assert price is not None  # noqa: S101 (checked above)
            trade = trade.with_leg(_settled(leg, parts, price, fees.get(leg.symbol)))
    if not trade.is_flat or trade.stage.is_terminal:
        return trade  # a FAILED trade keeps its stage; only what it held is booked
    if trade.stage is TradeStage.OPEN:
        trade = trade.moved_to(TradeStage.PENDING_CLOSE, "expiry: options expired", now)
    reason = "expiry: settled at intrinsic value"
    if unknown:
        reason += (f"; exercise fee of {', '.join(unknown)} not published within"
                   f" {EXERCISE_FEE_WAIT} of expiry: booked without it")
    return trade.moved_to(TradeStage.CLOSED, reason, now)


def exercise_fees(trade: Trade, delivery: DeliveryPrices, now: datetime,
                  exercises: Sequence[Exercise] | None) -> dict[str, Decimal | None]:
    """Per expired held symbol, this trade's share of its exercise fee: 0 out of the
    money, the history's figure in the money, None while the history lacks it."""
    fees: dict[str, Decimal | None] = {}
    for leg in trade.legs:
        parts = parse_symbol(leg.symbol)
        price = delivery.get((parts.underlying, parts.expiry))
        if leg.open_qty <= 0 or now < parts.expiry or price is None:
            continue
        if intrinsic_value(parts, price) == 0:
            fees[leg.symbol] = Decimal(0)
            continue
        fees[leg.symbol] = _fee_share(leg, exercises)
    return fees


def needs_exercise_history(trade: Trade, delivery: DeliveryPrices, now: datetime) -> bool:
    """Whether a held leg expired in the money (only those are charged a fee)."""
    return any(fee is None for fee in exercise_fees(trade, delivery, now, None).values())


def read_exercises(exchange: Exchange, trade: Trade, delivery: DeliveryPrices,
                   now: datetime) -> Sequence[Exercise] | None:
    """The exercise history the settlement of `trade` needs: () when no held leg expired in
    the money (nothing is read), None when the read failed (settle later)."""
    if not needs_exercise_history(trade, delivery, now):
        return ()
    expiries = [parse_symbol(leg.symbol).expiry for leg in trade.legs]
    try:
        return exchange.exercises(min(expiries) - _HISTORY_SLACK)
    except ExchangeError:
        return None


def _fee_share(leg: TradeLeg, exercises: Sequence[Exercise] | None) -> Decimal | None:
    rows = [e for e in exercises or () if e.symbol == leg.symbol]
    if not rows or any(e.fee is None for e in rows):
        return None
    total = Exercise(leg.symbol, sum((e.qty for e in rows), Decimal(0)),
                     sum((e.fee or Decimal(0) for e in rows), Decimal(0)))
    return total.fee_share(leg.open_qty)


def _fee_deadline(trade: Trade, now: datetime) -> datetime:
    expired = [parts.expiry for leg in trade.legs
               if (parts := parse_symbol(leg.symbol)).expiry <= now and leg.open_qty > 0]
    return min(expired, default=now) + EXERCISE_FEE_WAIT


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


def _settled(leg: TradeLeg, parts: SymbolParts, delivery_price: Decimal,
             fee: Decimal | None = None) -> TradeLeg:
    return leg.with_close_fill(leg.open_qty, intrinsic_value(parts, delivery_price),
                               fee or Decimal(0))


def _usable(price: Decimal | None) -> bool:
    return price is not None and price > 0
