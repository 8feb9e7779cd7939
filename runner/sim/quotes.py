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
from typing import Final, NamedTuple

from runner.domain.instruments import Instrument, OptionKind
from runner.domain.orders import Side
from runner.domain.snapshot import Book, BookLevel, Greeks, OptionQuote
from runner.sim.config import SimConfig, UnderlyingConfig
from runner.sim.pricing import SECONDS_PER_YEAR, Smile, implied_vol, valuation_tuple

_CENT: Final = Decimal("0.01")
_ZERO: Final = Decimal(0)
MIN_HALF_SPREAD_OF_INDEX: Final = 0.0001


SizeTable = tuple[tuple[Decimal, ...], ...]  # [level][jitter 0..15] -> size


@dataclass(slots=True)
class BookSide:
    """One side of an option's book in tick units, expanded into levels only on demand."""

    first_ticks: int  # best price in ticks
    direction: int  # -1 bids (downward), +1 asks (upward)
    step_ticks: int
    jitter: int  # 4 bits of size jitter per level
    tick: Decimal
    sizes: SizeTable

    def levels(self) -> tuple[BookLevel, ...]:
        found = []
        for level, by_jitter in enumerate(self.sizes):
            ticks = self.first_ticks + self.direction * level * self.step_ticks
            if ticks < 1:
                break
            found.append(BookLevel(Decimal(ticks) * self.tick,
                                   by_jitter[(self.jitter >> (4 * level)) & 0xF]))
        return tuple(found)


def size_table(market: UnderlyingConfig, depth: int) -> SizeTable:
    """Level sizes: growing with depth, times a jitter factor in [0.5, 1.5]."""
    return tuple(tuple(_size(level, jitter, market) for jitter in range(16))
                 for level in range(depth))


@dataclass(slots=True)
class OptionState:
    """Everything the venue knows about one option at one second (treat as read-only)."""

    instrument: Instrument
    mark: Decimal
    iv: float
    greeks: Greeks
    index: Decimal
    at: datetime
    quote: OptionQuote  # the chain row: top of book, mark, IV, greeks
    bid_side: BookSide | None
    ask_side: BookSide | None

    @property
    def bids(self) -> tuple[BookLevel, ...]:
        return self.bid_side.levels() if self.bid_side else ()

    @property
    def asks(self) -> tuple[BookLevel, ...]:
        return self.ask_side.levels() if self.ask_side else ()

    def book(self) -> Book:
        return Book(self.instrument.symbol, self.bids, self.asks, self.at)


class QuoteFigures(NamedTuple):
    """An option's chain row at one second as plain numbers: what exit rules read."""

    mark: int  # in cents: the row's mark exactly
    bid: int | None  # in cents (a tick is a whole number of cents); None: no bid
    ask: int | None
    delta: float  # the greeks exactly as the row's
    gamma: float
    vega: float
    theta: float


@dataclass(frozen=True, slots=True)
class QuoteContext:
    """What pricing one expiry at one second needs."""

    market: UnderlyingConfig
    config: SimConfig
    seed: int
    index: float
    index_decimal: Decimal
    tick: float
    second: int
    at: datetime
    emptied: frozenset[tuple[str, Side]]
    sizes: SizeTable


@dataclass(frozen=True, slots=True)
class Priced:
    """Per-instrument constants, computed once at listing so quoting stays cheap."""

    instrument: Instrument
    expiry_second: float
    strike: float
    is_call: bool
    symbol_hash: int

    @classmethod
    def of(cls, instrument: Instrument) -> Priced:
        return cls(instrument, instrument.expiry.timestamp(), float(instrument.strike),
                   instrument.kind is OptionKind.CALL, zlib.crc32(instrument.symbol.encode()))


def _jitter(symbol_hash: int, seed: int, minute: int) -> int:
    """32 deterministic pseudo-random bits per (instrument, seed, minute)."""
    value = (symbol_hash ^ (seed * 0x9E3779B1) ^ (minute * 0x85EBCA77)) & 0xFFFFFFFF
    value = ((value ^ (value >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    value = ((value ^ (value >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    return value ^ (value >> 16)


def price_option(priced: Priced, ctx: QuoteContext) -> OptionState:
    """Mark, IV, greeks and a depth book for one option."""
    instrument = priced.instrument
    vol, price, delta, gamma, vega, theta, half = _valued(
        priced, ctx.market.smile, ctx.config.spread_fraction, ctx.index, ctx.tick, ctx.second)
    tick = ctx.tick
    jitter = _jitter(priced.symbol_hash, ctx.seed, ctx.second // 60)
    step = max(1, round(half * 0.4 / tick))
    bid_side = ask_side = None
    if not ctx.emptied or (instrument.symbol, Side.BUY) not in ctx.emptied:
        bid_side = _side(math.floor((price - half) / tick), -1, step, jitter, ctx)
    if not ctx.emptied or (instrument.symbol, Side.SELL) not in ctx.emptied:
        ask_side = _side(math.ceil((price + half) / tick), 1, step, jitter >> 16, ctx)
    mark = Decimal(round(price * 100)).scaleb(-2)
    greeks = Greeks(delta, gamma, vega, theta)
    top_sizes = ctx.sizes[0]
    quote = OptionQuote(
        instrument=instrument,
        bid=Decimal(bid_side.first_ticks) * bid_side.tick if bid_side else None,
        bid_size=top_sizes[jitter & 0xF] if bid_side else _ZERO,
        ask=Decimal(ask_side.first_ticks) * ask_side.tick if ask_side else None,
        ask_size=top_sizes[(jitter >> 16) & 0xF] if ask_side else _ZERO,
        mark=mark, mark_iv=vol, greeks=greeks, underlying_price=ctx.index_decimal, at=ctx.at)
    return OptionState(instrument, mark, vol, greeks, ctx.index_decimal, ctx.at, quote,
                       bid_side, ask_side)


def quote_figures(priced: Priced, smile: Smile, spread_fraction: float, tick: float,
                  tick_cents: int, index: float, second: int,
                  emptied: frozenset[tuple[str, Side]]) -> QuoteFigures:
    """The figures of `price_option`'s chain row as plain numbers, from the same float
    arithmetic (the exit screen reads them at thousands of checks; exit_screen.py).
    `tick_cents`: the tick in cents, a whole number."""
    _, price, delta, gamma, vega, theta, half = _valued(
        priced, smile, spread_fraction, index, tick, second)
    bid = ask = None
    if not emptied or (priced.instrument.symbol, Side.BUY) not in emptied:
        first = math.floor((price - half) / tick)
        bid = first * tick_cents if first >= 1 else None
    if not emptied or (priced.instrument.symbol, Side.SELL) not in emptied:
        first = math.ceil((price + half) / tick)
        ask = first * tick_cents if first >= 1 else None
    return QuoteFigures(round(price * 100), bid, ask, delta, gamma, vega, theta)


def figures_of_state(state: OptionState, tick_cents: int) -> QuoteFigures:
    """The figures of a row already made (the same as `quote_figures` gives)."""
    greeks = state.greeks
    bid, ask = state.bid_side, state.ask_side
    return QuoteFigures(int(state.mark.scaleb(2)), bid.first_ticks * tick_cents if bid else None,
                        ask.first_ticks * tick_cents if ask else None,
                        greeks.delta, greeks.gamma, greeks.vega, greeks.theta)


def _valued(priced: Priced, smile: Smile, spread_fraction: float, index: float, tick: float,
            second: int) -> tuple[float, float, float, float, float, float, float]:
    """(IV, price, delta, gamma, vega, theta, half-spread) of one option at one second."""
    years = (priced.expiry_second - second) / SECONDS_PER_YEAR
    vol = implied_vol(smile, index, priced.strike, years)
    price, delta, gamma, vega, theta = valuation_tuple(index, priced.strike, years, vol,
                                                       priced.is_call)
    return vol, price, delta, gamma, vega, theta, _half_spread(
        price, delta, years, spread_fraction, index, tick)


def _side(first: int, direction: int, step: int, jitter: int,
          ctx: QuoteContext) -> BookSide | None:
    if first < 1:
        return None
    return BookSide(first, direction, step, jitter, ctx.market.tick, ctx.sizes)


def _half_spread(mark: float, delta: float, years: float, spread_fraction: float,
                 index: float, tick: float) -> float:
    widening = 1.0 + 2.0 * max(0.0, 0.2 - abs(delta)) / 0.2
    if years < 2.0 / 365.0:
        widening *= 1.5
    relative = spread_fraction * mark * widening
    return max(tick, MIN_HALF_SPREAD_OF_INDEX * index, relative)


def _size(level: int, jitter: int, market: UnderlyingConfig) -> Decimal:
    factor = (1.0 + 0.5 * level) * (0.5 + jitter / 15.0)
    steps = max(1, round(float(market.level_size) * factor / float(market.size_step)))
    return Decimal(steps) * market.size_step
