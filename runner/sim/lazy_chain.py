"""One expiry's options at one second, priced one option at a time when first read.

A chain read lists every option of an expiry, but a decision reads a few of them: the
legs of the trades it holds, the strikes near a target delta. Pricing the whole expiry
every step made the market cost grow with the strike grid, not with what is decided
(issue 12 item 2). Here an expiry at a second is a `LazyExpiry`: its rows are
`LazyQuote`s whose instrument is known at once and whose prices, greeks and book are
computed on first read, once per (option, second), and shared by every later read in
that step (the chain, the orderbook, matching). A row's delta alone is worked out without
pricing the row: a delta strike rule reads the delta of every strike of an expiry and
then trades one of them (the service's full tick, issue 12).

Invariant: a lazily priced option is exactly what pricing the whole expiry gave, the
same pure function of (instrument, index, second, seed, emptied sides) with the context
captured when the expiry was first asked about (quotes.price_option).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Final

from runner.domain.instruments import Instrument
from runner.domain.snapshot import Greeks, OptionQuote
from runner.sim.pricing import (
    MAX_VOL,
    MIN_VOL,
    MIN_YEARS,
    SECONDS_PER_YEAR,
    Smile,
    intrinsic,
)
from runner.sim.quotes import OptionState, Priced, QuoteContext, price_option

_SQRT_2: Final = math.sqrt(2.0)
_ONE_DAY_YEARS: Final = 1.0 / 365.0


class _States:
    """The priced options of one expiry at one second, each priced on its first read."""

    __slots__ = ("_context", "_deltas", "_on_price", "_states", "_terms", "by_symbol")

    def __init__(self, priced: dict[str, Priced], context: QuoteContext,
                 on_price: Callable[[], None]) -> None:
        self.by_symbol = priced
        self._context = context
        self._on_price = on_price
        self._states: dict[str, OptionState] = {}
        self._deltas: dict[str, float] = {}
        self._terms: dict[float, _ExpiryTerms] = {}  # expiry second -> its strike-free terms

    def delta(self, symbol: str) -> float:
        """The option's delta at this second, without pricing its row when not priced yet:
        the same float `price_option` gives (`_ExpiryTerms.delta`)."""
        state = self._states.get(symbol)
        if state is not None:
            return state.greeks.delta
        found = self._deltas.get(symbol)
        if found is None:
            priced = self.by_symbol[symbol]
            terms = self._terms.get(priced.expiry_second)
            if terms is None:
                ctx = self._context
                terms = self._terms[priced.expiry_second] = _ExpiryTerms(
                    ctx.market.smile, ctx.index,
                    (priced.expiry_second - ctx.second) / SECONDS_PER_YEAR)
            found = self._deltas[symbol] = terms.delta(priced.strike, priced.is_call)
        return found

    def state(self, symbol: str) -> OptionState | None:
        found = self._states.get(symbol)
        if found is not None:
            return found
        priced = self.by_symbol.get(symbol)
        if priced is None:
            return None
        self._on_price()
        found = self._states[symbol] = price_option(priced, self._context)
        return found


class _ExpiryTerms:
    """What the delta of every strike of one expiry at one second shares, worked out once:
    a delta strike rule reads the delta of every strike of an expiry (issue 12).

    `delta` is `pricing.valuation_tuple(index, strike, years, implied_vol(smile, index,
    strike, years), is_call)[1]` bit for bit: the same float operations in the same order,
    with those that do not depend on the strike (the at-the-money level, the square roots
    of the time) done once instead of per strike (tests/sim/test_lazy_chain.py compares
    them over whole expiries)."""

    __slots__ = ("_atm", "_curvature", "_forward", "_root", "_skew", "_sqrt_t", "_years")

    def __init__(self, smile: Smile, forward: float, years: float) -> None:
        self._forward, self._years = forward, years
        clamped = max(years, MIN_YEARS)  # implied_vol's time
        self._atm = smile.atm_vol * (1.0 + smile.short_term_boost
                                     * math.exp(-clamped * 365.0 / smile.boost_decay_days))
        self._root = math.sqrt(max(clamped, _ONE_DAY_YEARS))
        self._skew, self._curvature = smile.skew, smile.curvature
        self._sqrt_t = math.sqrt(years) if years > MIN_YEARS else 0.0  # valuation's time

    def delta(self, strike: float, is_call: bool) -> float:
        forward = self._forward
        moneyness = math.log(strike / forward) / self._root
        vol = self._atm + self._skew * moneyness + self._curvature * moneyness * moneyness
        vol = min(MAX_VOL, max(MIN_VOL, vol))
        if self._years <= MIN_YEARS or vol <= 0.0:
            in_money = intrinsic(forward, strike, is_call) > 0.0
            return (1.0 if in_money else 0.0) if is_call else (-1.0 if in_money else 0.0)
        std = vol * self._sqrt_t
        d1 = (math.log(forward / strike) + 0.5 * std * std) / std
        cdf_d1 = 0.5 * (1.0 + math.erf(d1 / _SQRT_2))
        return cdf_d1 if is_call else cdf_d1 - 1.0


class LazyExpiry:
    """The options of one listed expiry at one second; each priced on its first read.

    Its rows read their prices from the expiry's states, never from the expiry itself: no
    reference cycle, so an expiry the market's cache lets go of is freed at once rather
    than by the cyclic collector (a year's peak memory counted such garbage)."""

    __slots__ = ("_rows", "_states")

    def __init__(self, priced: dict[str, Priced], context: QuoteContext,
                 on_price: Callable[[], None]) -> None:
        self._states = _States(priced, context, on_price)
        self._rows: list[OptionQuote] | None = None

    def state(self, symbol: str) -> OptionState | None:
        """The option's full state at this second (priced now if not yet)."""
        return self._states.state(symbol)

    def rows(self) -> list[OptionQuote]:
        """The chain rows, by ascending strike (call before put), none priced yet."""
        if self._rows is None:
            states, make = self._states, _new_row
            self._rows = [make(p.instrument, states) for p in states.by_symbol.values()]
        return self._rows


class LazyQuote(OptionQuote):
    """A chain row: the instrument at once, the rest read from the expiry on first use.

    A subclass of the domain's `OptionQuote`, so everything downstream (the snapshot, the
    engine, the executors) reads it as any quote; it is never built field by field.
    """

    __slots__ = ("_expiry", "_quote")

    def __init__(self, instrument: Instrument, expiry: _States) -> None:
        object.__setattr__(self, "instrument", instrument)
        object.__setattr__(self, "_expiry", expiry)
        object.__setattr__(self, "_quote", None)

    def _priced(self) -> OptionQuote:
        quote = self._quote
        if quote is None:
            state = self._expiry.state(self.instrument.symbol)
            assert state is not None  # noqa: S101 - rows come from the same listing
            quote = state.quote
            object.__setattr__(self, "_quote", quote)
        return quote

    bid = property(lambda self: self._priced().bid)
    bid_size = property(lambda self: self._priced().bid_size)
    ask = property(lambda self: self._priced().ask)
    ask_size = property(lambda self: self._priced().ask_size)
    mark = property(lambda self: self._priced().mark)
    mark_iv = property(lambda self: self._priced().mark_iv)
    greeks = property(lambda self: self._priced().greeks)
    underlying_price = property(lambda self: self._priced().underlying_price)
    at = property(lambda self: self._priced().at)
    last = property(lambda self: self._priced().last)

    @property
    def delta(self) -> float:
        """The greeks' delta, read without pricing the row (`_States.delta`)."""
        quote = self._quote
        if quote is not None:
            return quote.greeks.delta  # type: ignore[union-attr]
        return self._expiry.delta(self.instrument.symbol)

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled (or copied) as the plain quote it stands for."""
        return (OptionQuote, _plain_fields(self._priced()))


_NEW = object.__new__
_SET_INSTRUMENT = OptionQuote.__dict__["instrument"].__set__
_SET_EXPIRY = LazyQuote.__dict__["_expiry"].__set__
_SET_QUOTE = LazyQuote.__dict__["_quote"].__set__


def _new_row(instrument: Instrument, expiry: _States) -> LazyQuote:
    """`LazyQuote(instrument, expiry)`, made through the slots' own setters: a chain read
    makes one row per option of the expiry every step (a third cheaper than `__init__`)."""
    row = _NEW(LazyQuote)
    _SET_INSTRUMENT(row, instrument)
    _SET_EXPIRY(row, expiry)
    _SET_QUOTE(row, None)
    return row


def _plain_fields(quote: OptionQuote) -> tuple[Instrument, Decimal | None, Decimal,
                                                Decimal | None, Decimal, Decimal | None,
                                                float | None, Greeks | None, Decimal | None,
                                                datetime, Decimal | None]:
    return (quote.instrument, quote.bid, quote.bid_size, quote.ask, quote.ask_size, quote.mark,
            quote.mark_iv, quote.greeks, quote.underlying_price, quote.at, quote.last)
