"""What the HTTP server reads beyond the port: the raw records a simulated venue keeps.

Owns the server's optional reads of `SimVenue`'s record accessors (`order_records`,
`fill_records`, `rfq_records`, `position_records`, `delivery_prices`, `listed_at`,
`rules`), which carry what Coincall's history and config answers show but the port does
not: cancelled orders without fills, trade types, realised PnL, IV/mark/index at a fill,
quote times, every published delivery price.
Invariant: every function also works on a plain `Exchange` (duck typing, no
isinstance), falling back to what the port offers, so the server serves any port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from runner.domain.instruments import Underlying, expiry_at
from runner.domain.orders import Fill, Order
from runner.domain.rfq import Rfq
from runner.exchange.port import Exchange
from runner.sim.records import order_view

TRADE_TYPE_LIMIT: Final = 1
ZERO: Final = Decimal(0)
DELIVERY_LOOKBACK_DAYS: Final = 30


@dataclass(frozen=True, slots=True)
class HistoryOrder:
    order: Order
    trade_type: int = TRADE_TYPE_LIMIT
    realized_pnl: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class HistoryFill:
    fill: Fill
    trade_type: int = TRADE_TYPE_LIMIT
    iv: float = 0.0
    mark: Decimal | None = None
    index: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ConfigRules:
    """The public-config figures of one underlying."""

    tick_size: Decimal
    taker_fee_rate: Decimal
    maker_fee_rate: Decimal
    max_open_orders: int


DEFAULT_RULES: Final = ConfigRules(Decimal(1), Decimal("0.0004"), Decimal("0.0003"), 200)


def _accessor(exchange: object, name: str) -> Callable[..., Any] | None:
    found = getattr(exchange, name, None)
    return found if callable(found) else None


def order_history(exchange: Exchange, now: datetime, start: datetime,
                  end: datetime) -> list[HistoryOrder]:
    """Orders created in [start, end]; from the port: open ones and those with fills."""
    records = _accessor(exchange, "order_records")
    if records is not None:
        return [HistoryOrder(order_view(o, now), o.trade_type, o.realized_pnl)
                for o in records(start) if o.created_at <= end]
    known = {o.order_id: o for o in exchange.open_orders(None)}
    for fill in exchange.fills(start):
        if fill.order_id not in known:
            found = exchange.get_order(order_id=fill.order_id)
            if found is not None:
                known[fill.order_id] = found
    return [HistoryOrder(o) for o in known.values()
            if o.created_at is None or start <= o.created_at <= end]


def fill_history(exchange: Exchange, start: datetime, end: datetime) -> list[HistoryFill]:
    """Our fills in [start, end], with the market context when the venue kept it."""
    records = _accessor(exchange, "fill_records")
    if records is not None:
        return [HistoryFill(f.fill, f.trade_type, f.iv, f.mark, f.index)
                for f in records(start) if f.fill.at <= end]
    return [HistoryFill(f) for f in exchange.fills(start) if f.at <= end]


def request_ids(exchange: Exchange) -> list[str]:
    """Every RFQ the venue holds for us (empty when it cannot list them)."""
    records = _accessor(exchange, "rfq_records")
    return [r.request_id for r in records()] if records is not None else []


def rfq(exchange: Exchange, request_id: str) -> Rfq | None:
    """One request as the venue holds it (the venue's view needs no maker key)."""
    view = _accessor(exchange, "rfq_view")
    return view(request_id) if view is not None else exchange.get_rfq(request_id)


def quote_times(exchange: Exchange, request_id: str) -> dict[str, datetime]:
    """When each quote on a request was made, by quote id."""
    records = _accessor(exchange, "rfq_records")
    if records is None:
        return {}
    return {q.quote_id: q.created_at for r in records() if r.request_id == request_id
            for q in r.quotes}


def realized_pnl(exchange: Exchange) -> dict[str, Decimal]:
    """Realised PnL per symbol of the open positions."""
    records = _accessor(exchange, "position_records")
    if records is None:
        return {}
    return {p.instrument.symbol: p.realized_pnl for p in records()}


def delivery_history(exchange: Exchange, underlying: Underlying,
                     now: datetime) -> list[tuple[datetime, Decimal]]:
    """Published settlement prices (expiry, price), newest first.

    From the venue's records when it keeps them; from the port otherwise, asking for the
    daily 08:00 expiries of the last `DELIVERY_LOOKBACK_DAYS` days.
    """
    records = _accessor(exchange, "delivery_prices")
    if records is not None:
        return [(d.expiry, d.price) for d in records(underlying)]
    today = expiry_at(now.date())
    last = today if today <= now else today - timedelta(days=1)
    found = []
    for days in range(DELIVERY_LOOKBACK_DAYS):
        expiry = last - timedelta(days=days)
        price = exchange.delivery_price(underlying, expiry)
        if price is not None:
            found.append((expiry, price))
    return found


def listed_at(exchange: Exchange, symbol: str) -> datetime | None:
    """When an instrument was listed (`startTimestamp`), when the venue knows."""
    accessor = _accessor(exchange, "listed_at")
    return accessor(symbol) if accessor is not None else None


def config_rules(exchange: Exchange, underlying: Underlying) -> ConfigRules:
    """Tick, fees and open-order cap; from the instrument list when the venue has no rules."""
    accessor = _accessor(exchange, "rules")
    if accessor is not None:
        rules = accessor(underlying)
        return ConfigRules(rules.tick_size, rules.taker_fee_rate, rules.maker_fee_rate,
                           rules.max_open_orders)
    listed = exchange.instruments(underlying)
    tick = listed[0].tick_size if listed else DEFAULT_RULES.tick_size
    return ConfigRules(tick, DEFAULT_RULES.taker_fee_rate, DEFAULT_RULES.maker_fee_rate,
                       DEFAULT_RULES.max_open_orders)
