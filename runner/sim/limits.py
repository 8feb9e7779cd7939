"""What the simulated exchange accepts at most: body size and depth, numbers, times, windows.

Owns the bounds that keep a hostile or broken request from crashing the test venue
(issue 8, finding 11: deep JSON, 5000-digit numbers, `qty 1e999999` and huge times
answered HTTP 500 with a traceback). Every bound answers a Coincall code through
`WireError` (10004 for parameters), never an exception the server does not expect.

Deliberate choices:
- A JSON body is checked for size (by the server) and nesting depth on its raw text
  before it is parsed; parsing keeps every number as the text the client wrote and
  refuses NaN / Infinity, so it converts nothing and cannot overflow. Numbers become
  values only in the route handlers, after the signature check, through the bounded
  readers here.
- Amounts (qty, price) are finite, positive, at most 1e12 and at most 18 decimals with
  30 significant digits; integers (ids, sides, pages) fit 64 bits; times are epoch ms
  from 1970 to 9999.
- `X-REQ-TS-DIFF` is at most 60 s: the docs give a server default of 5000 ms and no
  maximum (coincall-api.md 3.1), so a client cannot widen its window to replay a
  day-old request.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from runner.domain.clock import from_epoch_ms

MAX_BODY_BYTES: Final = 64 * 1024
MAX_JSON_DEPTH: Final = 16
MAX_TS_DIFF_MS: Final = 60_000
MAX_AMOUNT: Final = Decimal(10) ** 12
MIN_AMOUNT_EXPONENT: Final = -18
MAX_AMOUNT_DIGITS: Final = 30
MAX_NUMBER_TEXT: Final = 64
MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**64 - 1
MAX_EPOCH_MS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

CODE_BAD_PARAMS: Final = 10004


class WireError(Exception):
    """A request the exchange answers with a Coincall error code (HTTP 200)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{msg} (code {code})")
        self.code = code
        self.msg = msg


class RawNumber(str):
    """A JSON number exactly as the client wrote it."""

    __slots__ = ()


def json_depth_within(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if no array or object in `text` nests deeper than `limit` (strings skipped)."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def parse_json_object(text: str) -> dict[str, Any]:
    """A JSON object with numbers kept as written; 10004 for anything else or too deep."""
    if not json_depth_within(text):
        raise WireError(CODE_BAD_PARAMS, "Parameter illegal")
    try:
        parsed = json.loads(text, parse_float=RawNumber, parse_int=RawNumber,
                            parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise WireError(CODE_BAD_PARAMS, "Parameter illegal") from None
    if not isinstance(parsed, dict):
        raise WireError(CODE_BAD_PARAMS, "Parameter illegal")
    return parsed


def _refuse_constant(name: str) -> Any:  # NaN, Infinity, -Infinity
    raise ValueError(f"{name} is not a number")


def bounded_int(value: Any, name: str) -> int:
    """An integer sent as a JSON number or as text, within 64 bits; 10004 otherwise."""
    if value is None or isinstance(value, (bool, list, dict)):
        raise WireError(CODE_BAD_PARAMS, f"{name} is illegal")
    text = str(value).strip()
    if len(text) > MAX_NUMBER_TEXT:
        raise WireError(CODE_BAD_PARAMS, f"{name} is illegal")
    try:
        number = int(text)
    except ValueError:
        raise WireError(CODE_BAD_PARAMS, f"{name} is illegal") from None
    if not MIN_INT <= number <= MAX_INT:
        raise WireError(CODE_BAD_PARAMS, f"{name} is illegal")
    return number


def bounded_time(value: Any, name: str) -> datetime:
    """Epoch milliseconds between 1970 and 9999; 10004 otherwise."""
    millis = bounded_int(value, name)
    if not 0 <= millis <= MAX_EPOCH_MS:
        raise WireError(CODE_BAD_PARAMS, f"{name} is illegal")
    return from_epoch_ms(millis)


def bounded_amount(value: Any, *, missing_code: int) -> Decimal:
    """A positive finite amount within the bounds above; `missing_code` when absent."""
    if value is None or value == "":
        raise WireError(missing_code, "parameter is required")
    if isinstance(value, (bool, list, dict)):
        raise WireError(CODE_BAD_PARAMS, "Parameter illegal")
    text = str(value).strip()
    if len(text) > MAX_NUMBER_TEXT:
        raise WireError(CODE_BAD_PARAMS, "Parameter illegal")
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise WireError(CODE_BAD_PARAMS, "Parameter illegal") from None
    if not _amount_in_range(parsed):
        raise WireError(CODE_BAD_PARAMS, "Parameter illegal")
    return parsed


def _amount_in_range(amount: Decimal) -> bool:
    if not amount.is_finite() or not 0 < amount <= MAX_AMOUNT:
        return False
    shape = amount.as_tuple()
    digits = "".join(map(str, shape.digits)).rstrip("0") or "0"
    exponent = int(shape.exponent) + len(shape.digits) - len(digits)
    return exponent >= MIN_AMOUNT_EXPONENT and len(digits.lstrip("0")) <= MAX_AMOUNT_DIGITS
