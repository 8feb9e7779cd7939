"""What a held trade's legs hold, worked out once per trade rather than once per rule.

Every PnL rule prices a trade's legs and every greek rule weighs them: each needs, per
leg, the open quantity, the sign of the side and the entry price, and a PnL needs the
trade's entry cost and fees. These follow from the legs alone, which never change (a fill
makes a new trade), and each costs Decimal arithmetic (about a thousand instructions an
operation). So they are worked out once per legs tuple and remembered by its identity:
across the rules of one decision, and across ticks while the trade object lives (issue 11
item 4). Each figure is what the domain says it is (`TradeLeg.open_qty`,
`Trade.entry_cost`, ...), only read once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg


@dataclass(frozen=True, slots=True)
class HeldLeg:
    """One leg's figures: what PnL and greeks read."""

    symbol: str
    side: Side
    sign: int  # +1 bought, -1 sold (Side.sign)
    decimal_sign: Decimal  # the same as a Decimal: multiplies a price without converting
    held: Decimal  # open quantity (TradeLeg.open_qty)
    held_coins: float  # the same as a float, for greeks
    flat: bool  # nothing held
    entry: Decimal | None  # volume-weighted entry price


@dataclass(frozen=True, slots=True)
class TradeFigures:
    legs: tuple[HeldLeg, ...]
    entry_cost: Decimal  # Trade.entry_cost()
    fees: Decimal  # Trade.fees()


# legs tuple's id -> (the tuple, its figures): the tuple is kept beside its figures, so its
# id is never reused while the entry lives; bounded, since trades come and go.
_FIGURES: dict[int, tuple[tuple[TradeLeg, ...], TradeFigures]] = {}
_MAX_FIGURES = 256  # the trades held at once are a handful; a year made 4096 (memory)


def trade_figures(trade: Trade) -> TradeFigures:
    """The trade's figures, worked out on first use for its legs and then remembered."""
    legs = trade.legs
    found = _FIGURES.get(id(legs))
    if found is None or found[0] is not legs:
        if len(_FIGURES) >= _MAX_FIGURES:
            _FIGURES.clear()
        figures = TradeFigures(tuple(held_leg(leg) for leg in legs), trade.entry_cost(),
                               trade.fees())
        found = _FIGURES[id(legs)] = (legs, figures)
    return found[1]


def held_leg(leg: TradeLeg) -> HeldLeg:
    """One leg's figures (see HeldLeg)."""
    held, sign = leg.open_qty, leg.side.sign
    return HeldLeg(leg.symbol, leg.side, sign, Decimal(sign), held, float(held), held == 0,
                   leg.entry_price)
