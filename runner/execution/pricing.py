"""Limit prices for one leg: from the book, mark or fair value, moved, guarded and snapped.

Invariant: a price leaving this module is on the instrument's tick grid and above zero
(lessons F2-F4); buys round down and sells round up, so snapping never makes a price
worse for us. A leg that cannot be priced gets a worded reason instead of a price,
never a made-up number (lessons B1, C2).

Deliberate choices:
- Top of book comes from `snapshot.books[symbol]` when the tick fetched it, else from the
  chain quote; mark and fair value always come from the quote. A side priced 0 is an
  empty side (Coincall sends 0 for "no bid").
- One offset formula for the limit buffer and phase offsets: a buy pays
  `reference x (1 + pct/100)`, a sell asks `reference / (1 + pct/100)` (old fill
  manager, old-system.md d.2); positive is more aggressive for either side.
- Guards (lessons B11, B12): `min_floor_price` is a hard floor for sells (a sell with no
  bid is priced at the floor) and only a "never zero" guard for buys; an opening sell
  below `fair x open_sell_floor_pct_of_fair / 100` is refused, not clamped, so a thin
  book does not open the trade. Closes ignore that floor.
- B9 (never reprice against us within a phase) and B10 (skip tiny reprices) are the
  small pure helpers `held_direction` and `moved_enough`; the executor decides when
  they apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from runner.domain.instruments import DEFAULT_LOT, Instrument, effective_tick, snap_price
from runner.domain.orders import Side
from runner.domain.snapshot import MarketSnapshot
from runner.strategy.model import PriceGuards, PriceReference

ZERO: Final = Decimal(0)
HUNDRED: Final = Decimal(100)
# The Instrument default (1 USD, BTC in 2026; coincall-api.md section 4) when no quote
# tells the tick: a coarser grid is still a valid grid for finer-ticked instruments.
DEFAULT_TICK: Final = Instrument.__dataclass_fields__["tick_size"].default


@dataclass(frozen=True, slots=True)
class LegMarket:
    """What one symbol trades at this tick, from our point of view."""

    symbol: str
    bid: Decimal | None
    ask: Decimal | None
    mark: Decimal | None
    tick: Decimal
    lot: Decimal

    @property
    def mid(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2

    @property
    def fair(self) -> Decimal | None:
        """Mark when inside the book, else mid, with one-sided fallbacks (lessons E1)."""
        bid, ask, mark = self.bid, self.ask, self.mark
        if bid is not None and ask is not None:
            return mark if mark is not None and bid <= mark <= ask else self.mid
        if bid is not None:
            return max(bid, mark) if mark is not None else bid
        if ask is not None:
            return min(ask, mark) if mark is not None else ask
        return mark


def _positive(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > 0 else None


def leg_market(snapshot: MarketSnapshot, symbol: str) -> LegMarket:
    """Read one symbol's top of book, mark, tick and lot from the snapshot; the tick is the
    effective one (a coarser tick learned from the exchange wins over the listed one)."""
    quote = snapshot.quote(symbol)
    book = snapshot.books.get(symbol)
    if book is not None:
        bid, ask = book.best_bid, book.best_ask
    elif quote is not None:
        bid, ask = quote.bid, quote.ask
    else:
        bid = ask = None
    listed = quote.instrument.tick_size if quote is not None else DEFAULT_TICK
    tick = effective_tick(listed, snapshot.learned_ticks.get(symbol))
    lot = quote.instrument.lot_size if quote is not None else DEFAULT_LOT
    mark = quote.mark if quote is not None else None
    return LegMarket(symbol, _positive(bid), _positive(ask), _positive(mark), tick, lot)


@dataclass(frozen=True, slots=True)
class Priced:
    price: Decimal


@dataclass(frozen=True, slots=True)
class Unpriced:
    why: str


PriceOutcome = Priced | Unpriced


def reference_price(market: LegMarket, side: Side, reference: PriceReference) -> Decimal | None:
    """The unmoved price a phase starts from, or None when the market lacks it."""
    if reference is PriceReference.MID:
        return market.mid
    if reference is PriceReference.MARK:
        return market.mark
    if reference is PriceReference.FAIR:
        return market.fair
    if reference is PriceReference.TOP_OF_BOOK:  # join our own side
        return market.bid if side is Side.BUY else market.ask
    return market.ask if side is Side.BUY else market.bid  # aggressive: cross the book


def moved(price: Decimal, side: Side, offset_pct: Decimal) -> Decimal | None:
    """Move a price by `offset_pct`, positive = more aggressive; None for a factor <= 0."""
    factor = 1 + offset_pct / HUNDRED
    if factor <= 0:
        return None
    return price * factor if side is Side.BUY else price / factor


def limit_price(market: LegMarket, side: Side, reference: PriceReference, offset_pct: Decimal,
                guards: PriceGuards, *, opening: bool) -> PriceOutcome:
    """Price one order: reference, offset, guards (B11, B12), then the tick (F2-F4)."""
    base = reference_price(market, side, reference)
    raw = moved(base, side, offset_pct) if base is not None else None
    floor = guards.min_floor_price
    if side is Side.SELL:
        outcome = _sell_price(market, raw, floor, reference)
        if isinstance(outcome, Priced) and opening:
            outcome = _check_open_sell_floor(market, outcome, guards)
    else:
        outcome = _buy_price(market, raw, floor, reference)
    if isinstance(outcome, Unpriced):
        return outcome
    return Priced(snap_price(outcome.price, market.tick, round_up=side is Side.SELL))


def _sell_price(market: LegMarket, raw: Decimal | None, floor: Decimal | None,
                reference: PriceReference) -> PriceOutcome:
    if raw is None or raw <= 0:
        if floor is None:
            return Unpriced(f"{market.symbol}: no {reference.value} price to sell at")
        return Priced(floor)  # B12: a bid-0 sell goes out at the floor
    return Priced(raw if floor is None else max(raw, floor))


def _buy_price(market: LegMarket, raw: Decimal | None, floor: Decimal | None,
               reference: PriceReference) -> PriceOutcome:
    if raw is None:
        return Unpriced(f"{market.symbol}: no {reference.value} price to buy at")
    if raw <= 0:  # B12: for buys the floor only keeps the price off zero
        return Priced(floor if floor is not None else market.tick)
    return Priced(raw)


def _check_open_sell_floor(market: LegMarket, priced: Priced,
                           guards: PriceGuards) -> PriceOutcome:
    pct = guards.open_sell_floor_pct_of_fair
    if pct is None:
        return priced
    fair = market.fair
    if fair is None:
        return Unpriced(f"{market.symbol}: no fair value to check the opening sell floor")
    floor = fair * pct / HUNDRED
    if priced.price < floor:
        return Unpriced(f"{market.symbol}: selling at {priced.price} is below {pct} % of fair"
                        f" {fair} ({floor}); not opening into a thin book (B11)")
    return priced


def held_direction(new: Decimal, last: Decimal | None, side: Side) -> Decimal:
    """Within a phase a reprice never moves against us: a sell never lower, a buy never
    higher (lessons B9)."""
    if last is None:
        return new
    return max(new, last) if side is Side.SELL else min(new, last)


def moved_enough(new: Decimal, current: Decimal, threshold_pct: Decimal) -> bool:
    """True when a reprice moves the price by at least `threshold_pct` (lessons B10)."""
    if current <= 0:
        return new != current
    return abs(new - current) / current * HUNDRED >= threshold_pct
