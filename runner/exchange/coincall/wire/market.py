"""Market data answers -> domain: time, instruments, chain, detail, book, index, delivery.

Chain rows are `{strike, callOption, putOption}` (coincall-api.md 6.1); a side may be
null. Bid/ask of 0 mean an empty side and become None; a last price of 1.797e308
means "never traded". Greeks are per 1 coin; a missing gamma (as in the documented
samples) reads as 0.0, a missing delta means no greeks at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from runner.domain.clock import to_epoch_ms
from runner.domain.instruments import (
    DEFAULT_LOT,
    Instrument,
    OptionKind,
    Underlying,
    expiry_at,
    parse_symbol,
)
from runner.domain.snapshot import Book, BookLevel, Greeks, OptionQuote
from runner.exchange.coincall import endpoints
from runner.exchange.coincall.wire.fields import Fields, items

_OPTION_TYPES: Final = {1: OptionKind.CALL, 2: OptionKind.PUT}


def server_time(data: object) -> datetime:
    """`{serverTime}` -> aware UTC datetime."""
    return Fields(data, endpoints.SERVER_TIME.name).time("serverTime")


def instruments(data: object, underlying: Underlying) -> list[Instrument]:
    """The instrument list of one base coin (inactive ones included; the client filters)."""
    return [_instrument(row, underlying) for row in items(data, endpoints.INSTRUMENTS.name)]


def _instrument(row: Fields, underlying: Underlying) -> Instrument:
    symbol = row.text("symbolName")
    kind = _kind_from_symbol(row, symbol, "symbolName")
    lot = row.optional_decimal("minQty", DEFAULT_LOT) or DEFAULT_LOT
    return Instrument(
        symbol=symbol,
        underlying=underlying,
        kind=kind,
        strike=row.decimal("strike"),
        expiry=row.time("expirationTimestamp"),
        tick_size=row.optional_decimal("tickSize", Decimal(1)) or Decimal(1),
        min_qty=lot,
        lot_size=DEFAULT_LOT,
        is_active=row.flag("isActive") if row.has("isActive") else True,
    )


def option_chain(data: object, *, now: datetime,
                 known: Mapping[str, Instrument] | None = None) -> list[OptionQuote]:
    """Every call and put of the chain answer; `known` supplies tick and lot per symbol."""
    quotes: list[OptionQuote] = []
    for row in items(data, endpoints.OPTION_CHAIN.name):
        strike = row.optional_decimal("strike")
        for side in ("callOption", "putOption"):
            if row.has(side):
                quotes.append(_chain_quote(row.child(side), strike, now, known or {}))
    return quotes


def _chain_quote(option: Fields, strike: Decimal | None, now: datetime,
                 known: Mapping[str, Instrument]) -> OptionQuote:
    symbol = option.text("symbol")
    instrument = known.get(symbol) or _instrument_from_quote(option, strike)
    return OptionQuote(
        instrument=instrument,
        bid=option.price_or_none("bid"),
        bid_size=option.optional_decimal("bidSize", Decimal(0)) or Decimal(0),
        ask=option.price_or_none("ask"),
        ask_size=option.optional_decimal("askSize", Decimal(0)) or Decimal(0),
        mark=option.price_or_none("markPrice"),
        mark_iv=option.optional_float("markIv"),
        greeks=greeks(option),
        underlying_price=option.price_or_none("underlyingPrice"),
        at=now,
        last=option.price_or_none("lastPrice"),
    )


def _instrument_from_quote(option: Fields, strike: Decimal | None) -> Instrument:
    symbol = option.text("symbol")
    try:
        parts = parse_symbol(symbol)
    except ValueError as error:
        raise option.bad("symbol", str(error)) from None
    kind = _OPTION_TYPES.get(option.optional_integer("type") or 0, parts.kind)
    expiry = option.optional_time("endTime") or parts.expiry
    row_strike = option.optional_decimal("strike", strike) or parts.strike
    return Instrument(symbol, parts.underlying, kind, row_strike, expiry)


def greeks(option: Fields) -> Greeks | None:
    """Delta, gamma, vega, theta as floats; None without a delta."""
    delta = option.optional_float("delta")
    if delta is None:
        return None
    return Greeks(delta=delta, gamma=option.optional_float("gamma") or 0.0,
                  vega=option.optional_float("vega") or 0.0,
                  theta=option.optional_float("theta") or 0.0)


def detail_index_price(data: object) -> Decimal | None:
    """The `indexPrice` of an option detail answer, None when absent or zero."""
    return Fields(data, endpoints.OPTION_DETAIL.name).price_or_none("indexPrice")


def orderbook(data: object, symbol: str, now: datetime) -> Book:
    """`{bids: [{price, size}], asks: [...]}`, best first, numbers as strings."""
    book = Fields(data, endpoints.ORDERBOOK.name)
    named = book.text("optionName") if book.has("optionName") else symbol
    if named != symbol:
        raise book.bad("optionName", f"is {named!r}, asked for {symbol!r}")
    return Book(symbol, _levels(book, "bids"), _levels(book, "asks"), now)


def _levels(book: Fields, side: str) -> tuple[BookLevel, ...]:
    if not book.has(side):
        return ()
    levels = (BookLevel(level.decimal("price"), level.decimal("size"))
              for level in book.children(side))
    return tuple(level for level in levels if level.price > 0 and level.size > 0)


def futures_index_price(data: object, index_name: str) -> Decimal | None:
    """`indexPrice` (else `markPrice`) of `index_name` from the futures market answer.

    [RM] reads one object, the docs a list of perpetuals: both are accepted.
    """
    name = endpoints.FUTURES_SYMBOL.name
    rows = list(items(data, name)) if isinstance(data, list) else [Fields(data, name)]
    for row in rows:
        if row.has("symbol") and row.text("symbol").upper() not in {index_name, index_name + "T"}:
            continue
        price = row.price_or_none("indexPrice") or row.price_or_none("markPrice")
        if price is not None:
            return price
    return None


_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def delivery_prices(data: object) -> dict[int, Decimal]:
    """`get-delivery-prices/v1?symbol=BTCUSD` -> {08:00 UTC of each date, epoch ms: price}.

    Documented (docs/exchange-evidence.md section 7): a list of `{date: "2024-12-23",
    delivery_price: 7131.21}`, newest first, one row per daily 08:00 UTC settlement of the
    index asked for. The price is read as a number or a numeric string; a non-positive one
    is "none", never a settlement price. A row without either field, or with a date not
    written YYYY-MM-DD, raises MalformedResponse naming it: a changed shape is loud, never a
    settlement at 0. No source ever showed other field names, so none are guessed.
    """
    found: dict[int, Decimal] = {}
    for row in items(data, endpoints.DELIVERY_PRICES.name):
        price = row.decimal("delivery_price")
        if price > 0:
            found[to_epoch_ms(expiry_at(_settlement_day(row)))] = price
    return found


def _settlement_day(row: Fields) -> date:
    text = row.text("date")
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise row.bad("date", f"is not a YYYY-MM-DD date ({text!r})") from None


def _kind_from_symbol(row: Fields, symbol: str, field: str) -> OptionKind:
    try:
        return parse_symbol(symbol).kind
    except ValueError as error:
        raise row.bad(field, str(error)) from None

