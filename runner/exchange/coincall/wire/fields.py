"""Typed readers over one JSON object of a Coincall answer.

Coincall sends many numbers as strings, ids sometimes as numbers and sometimes as
strings, 0 for an empty book side and 1.797e308 for "no last price"
(coincall-api.md sections 2, 6.1). These readers turn all of that into Decimal,
int, float or None, and report anything unreadable as `MalformedResponse` naming the
endpoint and the field path, so a bad payload is never a KeyError deep in the core.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from runner.domain.clock import from_epoch_ms
from runner.domain.instruments import to_decimal
from runner.domain.orders import Side
from runner.exchange.errors import MalformedResponse

NO_PRICE_ABOVE: Final = Decimal("1e300")  # 1.797e308 (Double.MAX_VALUE) means "none"
_TRADE_SIDES: Final = {1: Side.BUY, 2: Side.SELL}
_TEXT_SIDES: Final = {"BUY": Side.BUY, "SELL": Side.SELL}


class Fields:
    """A JSON object read on behalf of `endpoint`; `where` is its path inside the answer."""

    __slots__ = ("_raw", "endpoint", "where")

    def __init__(self, raw: object, endpoint: str, where: str = "data") -> None:
        if not isinstance(raw, dict):
            raise MalformedResponse(f"{where} is not an object ({_show(raw)})", endpoint=endpoint)
        self._raw: dict[str, object] = raw
        self.endpoint = endpoint
        self.where = where

    def has(self, name: str) -> bool:
        return self._raw.get(name) is not None

    def raw(self, name: str) -> object:
        return self._raw.get(name)

    def bad(self, name: str, why: str) -> MalformedResponse:
        return MalformedResponse(f"field {self.where}.{name} {why}", endpoint=self.endpoint)

    def _required(self, name: str) -> object:
        value = self._raw.get(name)
        if value is None:
            raise self.bad(name, "is missing")
        return value

    def text(self, name: str) -> str:
        value = self._required(name)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self.bad(name, f"is not text ({_show(value)})")
        return str(value)

    def decimal(self, name: str) -> Decimal:
        return self._to_decimal(name, self._required(name))

    def optional_decimal(self, name: str, default: Decimal | None = None) -> Decimal | None:
        value = self._raw.get(name)
        if value is None or value == "":
            return default
        return self._to_decimal(name, value)

    def price_or_none(self, name: str) -> Decimal | None:
        """A price where 0 (no quote) and 1.797e308 (no trade) mean "none"."""
        value = self.optional_decimal(name)
        if value is None or value <= 0 or value >= NO_PRICE_ABOVE:
            return None
        return value

    def integer(self, name: str) -> int:
        return self._to_int(name, self._required(name))

    def optional_integer(self, name: str) -> int | None:
        value = self._raw.get(name)
        if value is None or value == "":
            return None
        return self._to_int(name, value)

    def optional_float(self, name: str) -> float | None:
        value = self._raw.get(name)
        if value is None or value == "":
            return None
        number = self._to_decimal(name, value)
        return None if abs(number) >= NO_PRICE_ABOVE else float(number)

    def time(self, name: str) -> datetime:
        return from_epoch_ms(self.integer(name))

    def optional_time(self, name: str) -> datetime | None:
        ms = self.optional_integer(name)
        return None if ms is None or ms <= 0 else from_epoch_ms(ms)

    def flag(self, name: str) -> bool:
        """0/1, "0"/"1" or a JSON boolean; missing is False."""
        value = self._raw.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        return self._to_int(name, value) != 0

    def trade_side(self, name: str = "tradeSide") -> Side:
        code = self.integer(name)
        if code not in _TRADE_SIDES:
            raise self.bad(name, f"is not 1 or 2 ({code})")
        return _TRADE_SIDES[code]

    def text_side(self, name: str = "side") -> Side:
        value = self.text(name).upper()
        if value not in _TEXT_SIDES:
            raise self.bad(name, f"is not BUY or SELL ({value!r})")
        return _TEXT_SIDES[value]

    def child(self, name: str) -> Fields:
        return Fields(self._required(name), self.endpoint, f"{self.where}.{name}")

    def children(self, name: str) -> Iterator[Fields]:
        return items(self._required(name), self.endpoint, f"{self.where}.{name}")

    def _to_decimal(self, name: str, value: object) -> Decimal:
        try:
            number = to_decimal(value)
        except (ValueError, InvalidOperation):
            raise self.bad(name, f"is not a number ({_show(value)})") from None
        if not number.is_finite():
            raise self.bad(name, f"is not a finite number ({_show(value)})")
        return number

    def _to_int(self, name: str, value: object) -> int:
        if isinstance(value, bool):
            raise self.bad(name, f"is not an integer ({_show(value)})")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        raise self.bad(name, f"is not an integer ({_show(value)})")


def items(raw: object, endpoint: str, where: str = "data") -> Iterator[Fields]:
    """The objects of a JSON list, each readable with `Fields`."""
    if not isinstance(raw, list):
        raise MalformedResponse(f"{where} is not a list ({_show(raw)})", endpoint=endpoint)
    return (Fields(entry, endpoint, f"{where}[{index}]") for index, entry in enumerate(raw))


def listing(raw: object, endpoint: str, key: str = "list") -> tuple[list[Fields], bool]:
    """Rows of a paged answer `{list: [...], hasNext}` (or a bare list); whether more follow."""
    if isinstance(raw, list):
        return list(items(raw, endpoint)), False
    page = Fields(raw, endpoint)
    rows = list(page.children(key)) if page.has(key) else []
    return rows, page.flag("hasNext")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
