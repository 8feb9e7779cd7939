"""Quotes of one expiry at one second: mark on the smile, greeks, bid/ask with depth.

Invariant: a quote is a pure function of (instrument, index, second, seed, emptied sides),
so repeated or less frequent observation never changes it.

Book model: half-spread = max(one tick, 0.01 % of the index, spread_fraction x mark x
widening), widening for far out-of-the-money options (|delta| < 0.2) and for expiries under
two days. The best bid is the mark minus the half-spread truncated to the tick; when that is
below one tick the bid side is empty (deep OTM options show bid 0 on Coincall, lessons B12).
Further levels step away by max(tick, 40 % of the half-spread). Level sizes grow with depth
and carry a deterministic jitter that changes once a minute.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from runner.domain.instruments import Instrument, OptionKind
from runner.domain.orders import Side
from runner.domain.snapshot import Book, BookLevel, Greeks, OptionQuote
from runner.exchange.sim.config import SimConfig, UnderlyingConfig
from runner.exchange.sim.pricing import SECONDS_PER_YEAR, implied_vol, valuation

_CENT: Final = Decimal("0.01")
_ZERO: Final = Decimal(0)
_MIN_HALF_SPREAD_OF_INDEX: Final = 0.0001


@dataclass(frozen=True, slots=True)
class OptionState:
    """Everything the venue knows about one option at one second."""

    instrument: Instrument
    mark: Decimal
    iv: float
    greeks: Greeks
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    index: Decimal
    at: datetime
    quote: OptionQuote  # the chain row: top of book, mark, IV, greeks

    def book(self) -> Book:
        return Book(self.instrument.symbol, self.bids, self.asks, self.at)


@dataclass(frozen=True, slots=True)
class QuoteContext:
    """What pricing one expiry at one second needs."""

    market: UnderlyingConfig
    config: SimConfig
    seed: int
    index: float
    second: int
    at: datetime
    emptied: frozenset[tuple[str, Side]]


def price_option(instrument: Instrument, ctx: QuoteContext) -> OptionState:
    """Mark, IV, greeks and a depth book for one option."""
    years = (instrument.expiry.timestamp() - ctx.second) / SECONDS_PER_YEAR
    strike = float(instrument.strike)
    is_call = instrument.kind is OptionKind.CALL
    vol = implied_vol(ctx.market.smile, ctx.index, strike, years)
    value = valuation(ctx.index, strike, years, vol, is_call)
    tick = float(ctx.market.tick)
    half = _half_spread(value.price, value.delta, years, ctx, tick)
    symbol = instrument.symbol
    jitter = zlib.crc32(f"{ctx.seed}|{symbol}|{ctx.second // 60}".encode())
    bids: tuple[BookLevel, ...] = ()
    asks: tuple[BookLevel, ...] = ()
    if (symbol, Side.BUY) not in ctx.emptied:
        bids = _levels(value.price - half, -1, half, tick, jitter, ctx)
    if (symbol, Side.SELL) not in ctx.emptied:
        asks = _levels(value.price + half, 1, half, tick, jitter >> 16, ctx)
    mark = Decimal(repr(value.price)).quantize(_CENT)
    index = Decimal(repr(ctx.index)).quantize(_CENT)
    greeks = Greeks(value.delta, value.gamma, value.vega, value.theta)
    bid = bids[0] if bids else None
    ask = asks[0] if asks else None
    quote = OptionQuote(
        instrument=instrument,
        bid=bid.price if bid else None, bid_size=bid.size if bid else _ZERO,
        ask=ask.price if ask else None, ask_size=ask.size if ask else _ZERO,
        mark=mark, mark_iv=vol, greeks=greeks, underlying_price=index, at=ctx.at)
    return OptionState(instrument, mark, vol, greeks, bids, asks, index, ctx.at, quote)


def _half_spread(mark: float, delta: float, years: float, ctx: QuoteContext,
                 tick: float) -> float:
    widening = 1.0 + 2.0 * max(0.0, 0.2 - abs(delta)) / 0.2
    if years < 2.0 / 365.0:
        widening *= 1.5
    relative = ctx.config.spread_fraction * mark * widening
    return max(tick, _MIN_HALF_SPREAD_OF_INDEX * ctx.index, relative)


def _levels(best: float, direction: int, half: float, tick: float, jitter: int,
            ctx: QuoteContext) -> tuple[BookLevel, ...]:
    """Depth levels from the best price outward; bids (direction -1) never below one tick."""
    first = math.floor(best / tick) if direction < 0 else math.ceil(best / tick)
    if first < 1:
        return ()
    step = max(1, round(half * 0.4 / tick))
    tick_decimal = ctx.market.tick
    levels = []
    for level in range(ctx.config.depth_levels):
        ticks = first + direction * level * step
        if ticks < 1:
            break
        size = _size(level, (jitter >> (4 * level)) & 0xF, ctx.market)
        levels.append(BookLevel(Decimal(ticks) * tick_decimal, size))
    return tuple(levels)


def _size(level: int, jitter: int, market: UnderlyingConfig) -> Decimal:
    factor = (1.0 + 0.5 * level) * (0.5 + jitter / 15.0)
    steps = max(1, round(float(market.level_size) * factor / float(market.size_step)))
    return Decimal(steps) * market.size_step
