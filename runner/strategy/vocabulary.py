"""The strategy language's small vocabularies: weekdays, price bases and references, greeks,
directions, units, expiry cycles, structure kinds (enums the YAML names by value).

Part of the strategy model (`strategy.model` re-exports every name here).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Final

SCHEMA_VERSION: Final = 1
NOTIONAL_DEFINITION: Final = "sum over the legs of strike x quantity, in USD"
DEFAULT_RFQ_MIN_NOTIONAL_USD: Final = Decimal(50000)


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Python's `date.weekday()` number: Monday 0 ... Sunday 6."""
        return list(Weekday).index(self)


class PriceBasis(StrEnum):
    """How a PnL rule prices the legs (lessons E1)."""

    MARK = "mark"
    MID = "mid"
    FAIR = "fair"  # mark if inside bid/ask, else mid, with one-sided fallbacks
    EXECUTABLE = "executable"  # bid for longs, ask for shorts


class PriceReference(StrEnum):
    """What a limit-order phase prices from."""

    MID = "mid"
    MARK = "mark"
    FAIR = "fair"
    TOP_OF_BOOK = "top_of_book"  # join our own side: best bid for a buy, best ask for a sell
    AGGRESSIVE = "aggressive"  # cross: best ask for a buy, best bid for a sell


class Greek(StrEnum):
    DELTA = "delta"
    GAMMA = "gamma"
    VEGA = "vega"
    THETA = "theta"


class Direction(StrEnum):
    ABOVE = "above"
    BELOW = "below"


class MoveUnit(StrEnum):
    USD = "usd"
    PCT = "pct"


class OffsetUnit(StrEnum):
    USD = "usd"
    PCT = "pct"
    STEPS = "steps"  # listed strikes


class ExpiryCycle(StrEnum):
    WEEKLY = "weekly"  # Friday expiries
    MONTHLY = "monthly"  # the last Friday expiry of a month
    QUARTERLY = "quarterly"  # the last Friday expiry of March, June, September, December


class StructureKind(StrEnum):
    STRANGLE = "strangle"
    STRADDLE = "straddle"
    IRON_CONDOR = "iron_condor"
    BUTTERFLY = "butterfly"
