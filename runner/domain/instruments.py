"""Option instruments: symbols, expiries, days to expiry, tick and lot rounding.

Coincall symbols read `{BASE}USD-{D}{MON}{YY}-{STRIKE}-{C|P}` with no leading zero
on the day (coincall-api.md section 4). Options expire at 08:00 UTC on the symbol's
date. All rounding of prices and quantities lives here and nowhere else (lessons
F2-F5): prices snap to the instrument tick and never to zero, quantities snap down
to the lot step.

Effective tick (issue 8 finding 9): the instrument list may name a finer tick than the
exchange keeps (listed 0.1, a live close at 9.50 rested at 9.00). When an order's price
comes back changed, `learned_tick` names the coarsest grid that explains it, and
`effective_tick` rounds every later price of that instrument to it from the start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Final

EXPIRY_TIME_UTC: Final = time(8, 0, tzinfo=UTC)
DEFAULT_LOT: Final = Decimal("0.01")

_MONTHS: Final = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_SYMBOL_RE: Final = re.compile(
    r"^(?P<base>[A-Z0-9]+)USD-(?P<day>\d{1,2})(?P<mon>[A-Z]{3})(?P<yy>\d{2})"
    r"-(?P<strike>\d+(?:\.\d+)?)-(?P<kind>[CP])$"
)


class Underlying(StrEnum):
    BTC = "BTC"
    ETH = "ETH"

    @property
    def index_name(self) -> str:
        """The exchange's index name, e.g. `BTCUSD`."""
        return f"{self.value}USD"


class OptionKind(StrEnum):
    CALL = "call"
    PUT = "put"

    @property
    def letter(self) -> str:
        return "C" if self is OptionKind.CALL else "P"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One listed option, as the instrument list describes it."""

    symbol: str
    underlying: Underlying
    kind: OptionKind
    strike: Decimal
    expiry: datetime
    tick_size: Decimal = Decimal(1)
    min_qty: Decimal = DEFAULT_LOT
    lot_size: Decimal = DEFAULT_LOT
    is_active: bool = True

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expiry

    def intrinsic_value(self, settlement_price: Decimal) -> Decimal:
        """Value per coin at settlement (cash settled)."""
        if self.kind is OptionKind.CALL:
            return max(Decimal(0), settlement_price - self.strike)
        return max(Decimal(0), self.strike - settlement_price)


@dataclass(frozen=True, slots=True)
class SymbolParts:
    underlying: Underlying
    expiry: datetime
    strike: Decimal
    kind: OptionKind


@lru_cache(maxsize=8192)
def parse_symbol(symbol: str) -> SymbolParts:
    """Split a Coincall option symbol; raise ValueError naming the symbol when malformed.

    Cached: the parts of a symbol never change, and every tick's exits and exposure ask
    for the same few symbols again (issue 11 item 4)."""
    match = _SYMBOL_RE.match(symbol)
    if match is None:
        raise ValueError(f"not a Coincall option symbol: {symbol!r}")
    try:
        underlying = Underlying(match["base"])
    except ValueError:
        raise ValueError(f"unsupported underlying in {symbol!r}") from None
    month = _MONTHS.index(match["mon"]) + 1 if match["mon"] in _MONTHS else 0
    if month == 0:
        raise ValueError(f"bad month in {symbol!r}")
    expiry_day = date(2000 + int(match["yy"]), month, int(match["day"]))
    kind = OptionKind.CALL if match["kind"] == "C" else OptionKind.PUT
    return SymbolParts(underlying, expiry_at(expiry_day), Decimal(match["strike"]), kind)


def format_expiry_code(day: date) -> str:
    """`28MAR26`, `9JUL26`: the expiry as it is written inside a symbol."""
    return f"{day.day}{_MONTHS[day.month - 1]}{day.year % 100:02d}"


def format_symbol(
    underlying: Underlying, expiry: datetime, strike: Decimal, kind: OptionKind
) -> str:
    """Build a symbol (for the simulator; live code takes symbols from the instrument list)."""
    integral = strike == strike.to_integral()
    strike_text = str(int(strike)) if integral else format(strike.normalize(), "f")
    return f"{underlying.value}USD-{format_expiry_code(expiry.date())}-{strike_text}-{kind.letter}"


def expiry_at(day: date) -> datetime:
    """The expiry moment of options dated `day`: 08:00 UTC."""
    return datetime.combine(day, EXPIRY_TIME_UTC)


def days_to_expiry(expiry: datetime, now: datetime) -> float:
    """Fractional days from now until the expiry moment (negative once expired)."""
    return (expiry - now) / timedelta(days=1)


def calendar_days_to_expiry(expiry: datetime, now: datetime) -> int:
    """Whole UTC calendar days between today and the expiry date (0 = expires today)."""
    return (expiry.date() - now.date()).days


def snap_price(price: Decimal, tick: Decimal, *, round_up: bool = False) -> Decimal:
    """Snap a price onto the tick grid, never below one tick (lessons F2, F4).

    Buys round down (never pay more than intended) and sells round up (never
    receive less) when the caller passes `round_up` for sells.
    """
    if tick <= 0:
        raise ValueError("tick size must be positive")
    steps = (price / tick).to_integral_value(rounding=ROUND_CEILING if round_up else ROUND_FLOOR)
    return max(steps, Decimal(1)) * tick


def snap_qty(qty: Decimal, lot: Decimal = DEFAULT_LOT) -> Decimal:
    """Snap a quantity down to the lot step (0.5999... -> 0.59; lessons F5)."""
    if lot <= 0:
        raise ValueError("lot size must be positive")
    steps = (qty / lot).to_integral_value(rounding=ROUND_FLOOR)
    return (steps * lot).quantize(lot)


def to_decimal(value: object) -> Decimal:
    """Parse a number that may arrive as str, int or float into a Decimal (lessons F1)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value).strip())


# The grid steps tried when learning a tick: the listed tick x 1, 2, 5, 10, 20, 50, ...
_TICK_MULTIPLES: Final = (Decimal(1), Decimal(2), Decimal(5))
_MAX_TICK_DECADES: Final = 8


def effective_tick(listed: Decimal, learned: Decimal | None) -> Decimal:
    """The grid prices are rounded to: the listed tick, or a coarser one learned live."""
    return listed if learned is None or learned <= listed else learned


def learned_tick(sent: Decimal, kept: Decimal, listed: Decimal) -> Decimal | None:
    """The smallest grid step (listed x 1, 2, 5, 10, ...) coarser than `listed` on which
    `kept` lies and that is within one step of `sent`: the step the exchange truncated or
    rounded `sent` to. None when no such step explains the change (or nothing changed).
    """
    if kept == sent or kept <= 0 or listed <= 0:
        return None
    gap = abs(sent - kept)
    decade = Decimal(1)
    for _ in range(_MAX_TICK_DECADES):
        for multiple in _TICK_MULTIPLES:
            step = listed * multiple * decade
            if step > listed and gap < step and kept % step == 0:
                return step
        decade *= 10
    return None
