"""Coincall WebSocket frames (coincall-api.md section 9) in and out, as pure functions.

Out: `subscribe` / `unSubscribe` (capital S) / `heartbeat` actions. In: data frames
`{"dt", "c": 20, "d", "ts"}` routed on `dt` (5 orderBook, 4 tOption, 30 spotPrice),
the heartbeat reply `{"c": 11, "rc": 1}`, and acks (`action`/`result`, no `dt`).
Numbers arrive as strings or numbers; a bid or ask of 0 is an empty side. Book levels
carry their size as `sz` (2024+ docs) or `v` (2023 docs sample), `tOption` rows as
`bs`/`as` or `bv`/`av`: both are read. A `tOption` row is timed by its own `ts` (the 2023
samples have no frame `ts`), so out-of-order detection works per option.
A frame that cannot be read raises `FeedMessageError`; the connection counts it and
goes on (one bad frame never stops the feed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from runner.domain.clock import from_epoch_ms
from runner.domain.instruments import Underlying
from runner.domain.snapshot import Book, BookLevel
from runner.feed.prices import PriceCache, TickerRow

DT_ORDER_BOOK: Final = 5
DT_T_OPTION: Final = 4
DT_SPOT_PRICE: Final = 30
HEARTBEAT_CODE: Final = 11


class FeedMessageError(ValueError):
    """A frame that does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """One channel: `dataType` and its payload, e.g. ("orderBook", {"symbol": ...})."""

    data_type: str
    symbol: str
    end_ms: int | None = None  # tOption: the expiry (epoch ms)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"symbol": self.symbol}
        if self.end_ms is not None:
            body["end"] = self.end_ms
        return body


def subscribe_message(subscription: Subscription, action: str = "subscribe") -> str:
    return json.dumps({"action": action, "dataType": subscription.data_type,
                       "payload": subscription.payload()}, separators=(",", ":"))


def unsubscribe_message(subscription: Subscription) -> str:
    return subscribe_message(subscription, "unSubscribe")


HEARTBEAT_MESSAGE: Final = '{"action":"heartbeat"}'


@dataclass(frozen=True, slots=True)
class IndexUpdate:
    underlying: Underlying
    price: Decimal
    exchange_ms: int


@dataclass(frozen=True, slots=True)
class BookUpdate:
    book: Book
    exchange_ms: int


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    rows: tuple[TickerRow, ...]
    exchange_ms: tuple[int, ...]  # per row: its own `ts`, else the frame's


@dataclass(frozen=True, slots=True)
class Control:
    """A heartbeat reply, an ack, or a data frame of a channel we do not read."""

    heartbeat: bool
    text: str


Frame = IndexUpdate | BookUpdate | TickerUpdate | Control


def parse_frame(text: str | bytes) -> Frame:
    """One received text frame as an update or a control; raises FeedMessageError."""
    try:
        message = json.loads(text)
    except ValueError as error:
        raise FeedMessageError(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise FeedMessageError("a frame is a JSON object")
    if "dt" not in message:
        beat = message.get("c") == HEARTBEAT_CODE and message.get("rc") == 1
        return Control(heartbeat=beat, text="heartbeat" if beat else "ack")
    data, envelope_ms = message.get("d"), _int(message.get("ts", 0), "ts")
    match message.get("dt"):
        case 5:
            return _book(_object(data), envelope_ms)
        case 4:
            return _tickers(data, envelope_ms)
        case 30:
            return _spot(_object(data), envelope_ms)
        case other:
            return Control(heartbeat=False, text=f"dt {other} not read")


def apply(frame: Frame, cache: PriceCache) -> bool:
    """Put an update into the cache; False for controls and out-of-order updates."""
    match frame:
        case IndexUpdate(underlying, price, ms):
            return cache.put_index(underlying, price, ms)
        case BookUpdate(book, ms):
            return cache.put_book(book, ms)
        case TickerUpdate(rows, stamps):
            return cache.put_tickers(rows, stamps) > 0
    return False


def _book(data: Mapping[str, Any], envelope_ms: int) -> BookUpdate:
    symbol = _text(data.get("s"), "s")
    ms = _int(data.get("ts", envelope_ms), "ts")
    book = Book(symbol, _levels(data.get("bids")), _levels(data.get("asks")), from_epoch_ms(ms))
    return BookUpdate(book, ms)


def _levels(raw: object) -> tuple[BookLevel, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FeedMessageError("book sides are lists")
    levels = []
    for level in raw:
        entry = _object(level)
        size = entry.get("sz", entry.get("v"))
        price = _decimal(entry.get("pr"), "pr")
        if price is not None and price > 0:
            levels.append(BookLevel(price, _decimal(size, "sz") or Decimal(0)))
    return tuple(levels)


def _tickers(data: object, envelope_ms: int) -> TickerUpdate:
    if not isinstance(data, list):
        raise FeedMessageError("tOption data is a list of options")
    objects = [_object(row) for row in data]
    stamps = tuple(_int(row.get("ts", envelope_ms), "ts") for row in objects)
    return TickerUpdate(tuple(_ticker(row) for row in objects), stamps)


def _ticker(row: Mapping[str, Any]) -> TickerRow:
    """Sizes are `bs`/`as` (2024+ docs) or `bv`/`av` (2023 docs samples)."""
    return TickerRow(
        symbol=_text(row.get("s"), "s"), bid=_positive(row.get("bid"), "bid"),
        bid_size=_decimal(row.get("bs", row.get("bv")), "bs") or Decimal(0),
        ask=_positive(row.get("ask"), "ask"),
        ask_size=_decimal(row.get("as", row.get("av")), "as") or Decimal(0),
        mark=_positive(row.get("mp"), "mp"), mark_iv=_float(row.get("miv")),
        delta=_float(row.get("delta")), gamma=_float(row.get("gamma")) or 0.0,
        vega=_float(row.get("vega")) or 0.0, theta=_float(row.get("theta")) or 0.0,
        underlying_price=_positive(row.get("up"), "up"))


def _spot(data: Mapping[str, Any], envelope_ms: int) -> IndexUpdate:
    name = _text(data.get("s"), "s")
    try:
        underlying = Underlying(name.removesuffix("USD"))
    except ValueError:
        raise FeedMessageError(f"unknown index {name!r}") from None
    price = _positive(data.get("ip"), "ip")
    if price is None:
        raise FeedMessageError(f"spotPrice {name} without an index price")
    return IndexUpdate(underlying, price, _int(data.get("ts", envelope_ms), "ts"))


def _object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise FeedMessageError("expected a JSON object")
    return value


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise FeedMessageError(f"{name} must be a non-empty string")
    return value


def _int(value: object, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise FeedMessageError(f"{name} must be an integer, got {value!r}") from None


def _decimal(value: object, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise FeedMessageError(f"{name} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise FeedMessageError(f"{name} must be finite, got {value!r}")
    return number


def _positive(value: object, name: str) -> Decimal | None:
    number = _decimal(value, name)
    return number if number is not None and number > 0 else None


def _float(value: object) -> float | None:
    try:
        return float(str(value)) if value not in (None, "") else None
    except ValueError:
        return None

