"""Market data -> Coincall JSON, as the simulated exchange answers the public calls.

Owns the outbound encoding of the market-data calls (server time, public config,
instruments, option chain and detail, orderbook, futures market, delivery prices): field
names, shapes and JSON types exactly as the docs' answer examples show them
(docs/exchange-evidence.md sections 1-7; checked by tests/exchange/contract). Nothing here
decides anything; each function maps domain values to one documented shape.

Deliberate choices (from the evidence file):
- Chain, detail and futures numbers are JSON numbers; orderbook levels are strings.
- A side without a quote is `0`; an option that never traded has `lastPrice: 0` and
  `lastPriceIv` = Double.MAX_VALUE, as in the docs' chain example.
- The futures market answers the documented list of perpetuals (narrowed to `symbol`).
- Delivery prices are one `{date, delivery_price}` row per UTC day, newest first.
- Fields the domain does not model get neutral values (0, null where the docs show null,
  the mark IV for bid/ask IVs) so that every documented key is present.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from runner.domain.clock import to_epoch_ms
from runner.domain.instruments import Instrument, OptionKind, Underlying
from runner.domain.snapshot import Book, OptionQuote
from runner.sim.venue_records import ConfigRules
from runner.sim.wire_out import (
    NO_LAST_PRICE,
    display_name,
    ms,
    num,
    option_type,
    real,
    synthetic_id,
    text,
)

CONTRACT_IDS: Final = {underlying: number for number, underlying in enumerate(Underlying, 1)}


def server_time(now: datetime) -> dict[str, int]:
    return {"serverTime": to_epoch_ms(now)}


def public_config(rules: Mapping[Underlying, ConfigRules]) -> dict[str, Any]:
    """`/open/public/config/v1`: one `optionConfig` entry per index."""
    config = {
        underlying.index_name: {
            "takerFee": text(item.taker_fee_rate), "makerFee": text(item.maker_fee_rate),
            "tickSize": num(item.tick_size), "qtyDecimal": 2, "priceDecimal": 1,
            "multiplier": "0.01", "limitMaxQty": "100", "marketMaxQty": "50",
            "maxPositionQty": "1000", "maxOrderNumber": item.max_open_orders,
            "settle": "USDT", "base": underlying.value,
        }
        for underlying, item in rules.items()
    }
    return {"optionConfig": config}


def instrument(item: Instrument, listed_at: datetime | None = None) -> dict[str, Any]:
    """Instrument list item; `startTimestamp` (live, undocumented) when known."""
    row: dict[str, Any] = {
        "baseCurrency": item.underlying.value,
        "expirationTimestamp": ms(item.expiry),
        "strike": real(item.strike),
        "symbolName": item.symbol,
        "isActive": item.is_active,
        "minQty": num(item.min_qty),
        "tickSize": num(item.tick_size),
    }
    if listed_at is not None:
        row["startTimestamp"] = ms(listed_at)
    return row


def chain(quotes: Iterable[OptionQuote]) -> list[dict[str, Any]]:
    """`/open/option/get/v1/{index}`: one row per strike with its call and put."""
    rows: dict[Decimal, dict[str, Any]] = {}
    for quote in quotes:
        strike = quote.instrument.strike
        row = rows.setdefault(strike, {"strike": real(strike), "callOption": None,
                                       "putOption": None})
        key = "callOption" if quote.instrument.kind is OptionKind.CALL else "putOption"
        row[key] = chain_option(quote)
    return [rows[strike] for strike in sorted(rows)]


def chain_option(quote: OptionQuote) -> dict[str, Any]:
    item = quote.instrument
    iv = quote.mark_iv or 0.0
    index_key = "index" if item.kind is OptionKind.CALL else "underlying"
    return {
        "optionId": synthetic_id(item.symbol), index_key: item.underlying.index_name,
        "symbol": item.symbol, "baseToken": item.underlying.value,
        "displayName": display_name(item.symbol), "endTime": ms(item.expiry),
        "strike": real(item.strike), "lastPrice": _last(quote), "markPrice": num(quote.mark),
        "volume": 0, "openInterest": 0,
        "ask": num(quote.ask), "askIv": iv if quote.ask else 0,
        "askSize": num(quote.ask_size if quote.ask else None),
        "bid": num(quote.bid), "bidIv": iv if quote.bid else 0,
        "bidSize": num(quote.bid_size if quote.bid else None),
        "markIv": iv, "type": option_type(item.kind),
        "lastPriceIv": iv if quote.last is not None else NO_LAST_PRICE,
        "underlyingPrice": num(quote.underlying_price), "breakeven": num(_breakeven(quote)),
        "changeRate": 0, "changePrice": 0, "userPosition": 0, **_greeks(quote),
    }


def option_detail(quote: OptionQuote, index_price: Decimal, now: datetime) -> dict[str, Any]:
    """`/open/option/detail/v1/{symbol}`, with the live `bid`/`ask` keys."""
    item = quote.instrument
    return {
        "optionId": synthetic_id(item.symbol), "symbol": item.symbol,
        "index": item.underlying.index_name, "displayName": display_name(item.symbol),
        "endTime": ms(item.expiry), "remainTime": max(0, ms(item.expiry) - ms(now)),
        "strike": real(item.strike), "markPrice": num(quote.mark),
        "underlyingPrice": num(quote.underlying_price), "volume": 0, "volumeUsd": 0,
        "openInterest": 0, "lastPrice": _last(quote), "premium": 0, "changeRate": 0,
        "changePrice": None, "iv": quote.mark_iv or 0.0, "multiplier": 0.01,
        "type": option_type(item.kind), "indexPrice": num(index_price),
        "price24hHigh": 0, "price24hLow": 0, "volumeUsd24h": 0, "price24hOpen": 0,
        "volume24h": 0, "breakeven": num(_breakeven(quote)),
        "bid": num(quote.bid), "ask": num(quote.ask), **_greeks(quote),
    }


def _greeks(quote: OptionQuote) -> dict[str, float | int]:
    greeks = quote.greeks
    if greeks is None:
        return {"delta": 0, "gamma": 0, "vega": 0, "theta": 0, "rho": 0}
    return {"delta": greeks.delta, "gamma": greeks.gamma, "vega": greeks.vega,
            "theta": greeks.theta, "rho": 0}


def _last(quote: OptionQuote) -> int | float:
    """The last traded price; 0 when the option never traded (the docs' chain example)."""
    return 0 if quote.last is None else num(quote.last)


def _breakeven(quote: OptionQuote) -> Decimal | None:
    if quote.mark is None:
        return None
    item = quote.instrument
    return item.strike + quote.mark if item.kind is OptionKind.CALL else item.strike - quote.mark


def orderbook(book: Book, strike: Decimal | None) -> dict[str, Any]:
    """`/open/option/order/orderbook/v1/{symbol}`: strings, best first, no mark."""
    return {
        "optionName": book.symbol,
        "displayName": None,
        "strike": num(strike),
        "bids": [{"size": text(level.size), "price": text(level.price)} for level in book.bids],
        "asks": [{"size": text(level.size), "price": text(level.price)} for level in book.asks],
    }


def futures_market(prices: Mapping[Underlying, Decimal], now: datetime) -> list[dict[str, Any]]:
    """`/open/futures/market/symbol/v1`: the documented list of perpetuals, numbers."""
    return [_perpetual(underlying, price, now) for underlying, price in prices.items()]


def _perpetual(underlying: Underlying, index_price: Decimal, now: datetime) -> dict[str, Any]:
    price = num(index_price)
    return {
        "contractId": CONTRACT_IDS[underlying], "symbol": underlying.index_name,
        "symbolName": f"{underlying.value}/USD", "displayName": f"{underlying.value}-PERP",
        "baseToken": underlying.value, "quoteToken": "USD", "price": price,
        "changeRate": 0, "changePrice": 0, "markPrice": price, "indexPrice": price,
        "price24hHigh": price, "price24hLow": price, "volumeUsd24h": 0, "volume24h": 0,
        "ts": int(now.strftime("%Y%m%d%H%M%S")),  # the docs' example: 20201116024818
        "price24hOpen": price, "hasOption": True, "sortIdx": None,
    }


def delivery_prices(history: Iterable[tuple[datetime, Decimal]]) -> list[dict[str, Any]]:
    """`get-delivery-prices/v1`: `{date, delivery_price}` per UTC day, newest first."""
    by_day: dict[str, Decimal] = {}
    for when, price in sorted(history, key=lambda row: row[0], reverse=True):
        by_day.setdefault(when.date().isoformat(), price)
    return [{"date": day, "delivery_price": real(price)} for day, price in by_day.items()]
