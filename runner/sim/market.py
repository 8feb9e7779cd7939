"""The simulated market: index paths, listed instruments and their quotes, per underlying.

Owns what is listed when and what every option is worth at a given second. Invariant: all
of it is determined by (seed, start time, config, controls applied) and the second asked
about; nothing depends on how often it is observed.

- Index: one `IndexPath` per underlying (exact GBM on a 1-second grid).
- Listing: `roll(moment)` at each 08:00 UTC removes expired instruments and lists the
  expiries that enter the schedule, with a strike grid around the index at that moment.
  An expired instrument is forgotten at its roll (its listing, its symbol, its listing
  time): settlement gets it from the roll, positions and orders hold their own, and
  nothing reads it from the market again, so memory stays flat over a year of listings.
- Quotes: one `LazyExpiry` per (underlying, expiry, second), cached; each option in it is
  priced when first read (lazy_chain.py), so a step costs the options it reads, not the
  strike grid, and an option is priced once per second whoever reads it (a chain, one
  symbol, the positions, matching). What pricing one second needs (the index, the
  context) is computed once per (underlying, second). The caches are small (the venue
  only ever asks about recent seconds) and are cleared when a control changes what
  quotes look like. While an underlying's feed is frozen its quotes are those of the
  freeze second (a stale feed, lessons C1).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from runner.domain.instruments import Instrument, OptionKind, Underlying, format_symbol
from runner.domain.orders import Side
from runner.domain.snapshot import OptionQuote
from runner.sim.config import SimConfig
from runner.sim.index import IndexPath
from runner.sim.lazy_chain import LazyExpiry
from runner.sim.listing import listed_expiries, strike_grid, years_between
from runner.sim.quote_bounds import FigureBounds, delta_bounds, figure_bounds, shows_no_bid
from runner.sim.quotes import (
    OptionState,
    Priced,
    QuoteContext,
    QuoteFigures,
    figures_of_state,
    quote_figures,
    size_table,
)

_CACHE_SIZE: Final = 96
_CONTEXTS: Final = 16
_INDEX_PLACES: Final = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ExpiryListing:
    """One listed expiry of one underlying and its instruments (by ascending strike)."""

    underlying: Underlying
    expiry: datetime
    listed_at: datetime
    anchor: Decimal
    instruments: tuple[Instrument, ...]
    priced: dict[str, Priced]  # by symbol, in instrument order


def epoch_second(when: datetime) -> int:
    return int(when.timestamp())


def _whole_cents(tick: Decimal) -> int | None:
    cents = tick * 100
    return int(cents) if cents == cents.to_integral_value() else None


class Market:
    """Index, listings and quotes of every underlying of the venue."""

    def __init__(self, config: SimConfig, seed: int, start: datetime) -> None:
        self._config = config
        self._seed = seed
        start_second = epoch_second(start)
        self.paths = {
            underlying: IndexPath(seed=seed, name=underlying.value, start_second=start_second,
                                  start_price=float(market.start_price),
                                  annual_vol=market.annual_vol,
                                  block_seconds=config.block_seconds)
            for underlying, market in config.underlyings.items()
        }
        self._listings: dict[Underlying, dict[datetime, ExpiryListing]] = {
            underlying: {} for underlying in config.underlyings}
        self._by_symbol: dict[str, Instrument] = {}
        self._priced: dict[str, Priced] = {}
        self._listed_at: dict[str, datetime] = {}
        self._cache: dict[tuple[Underlying, datetime, int], LazyExpiry] = {}
        self._contexts: dict[tuple[Underlying, int], QuoteContext] = {}
        self._instrument_lists: dict[Underlying, tuple[Instrument, ...]] = {}
        self.options_priced = 0  # how many option states were computed (benchmarks)
        self._emptied: frozenset[tuple[str, Side]] = frozenset()
        self._sizes = {underlying: size_table(market, config.depth_levels)
                       for underlying, market in config.underlyings.items()}
        self._smiles = {u: market.smile for u, market in config.underlyings.items()}
        self._ticks = {u: float(market.tick) for u, market in config.underlyings.items()}
        self._tick_cents = {u: _whole_cents(market.tick)
                            for u, market in config.underlyings.items()}
        self.roll(start)

    # -- listing -------------------------------------------------------------------
    def roll(self, moment: datetime) -> list[Instrument]:
        """Delist what expires at or before `moment`, list what enters; return the delisted."""
        delisted: list[Instrument] = []
        for underlying, listings in self._listings.items():
            for expiry in [e for e in listings if e <= moment]:
                gone = listings.pop(expiry)
                delisted.extend(gone.instruments)
                for symbol in gone.priced:  # never read again (memory stays flat)
                    self._priced.pop(symbol, None)
                    self._by_symbol.pop(symbol, None)
                    self._listed_at.pop(symbol, None)
            anchor = self.index_float(underlying, epoch_second(moment))
            for expiry in listed_expiries(moment, self._config):
                if expiry not in listings:
                    listings[expiry] = self._list(underlying, expiry, moment, anchor)
        self._cache.clear()
        self._instrument_lists.clear()
        return delisted

    def _list(self, underlying: Underlying, expiry: datetime, moment: datetime,
              anchor: float) -> ExpiryListing:
        market = self._config.underlying(underlying)
        strikes = strike_grid(anchor, years_between(moment, expiry), market, self._config)
        instruments = []
        for strike in strikes:
            for kind in (OptionKind.CALL, OptionKind.PUT):
                instrument = Instrument(
                    symbol=format_symbol(underlying, expiry, strike, kind),
                    underlying=underlying, kind=kind, strike=strike, expiry=expiry,
                    tick_size=market.tick, min_qty=self._config.min_qty,
                    lot_size=self._config.lot_size)
                instruments.append(instrument)
                self._by_symbol[instrument.symbol] = instrument
                self._listed_at[instrument.symbol] = moment
        anchor_decimal = Decimal(repr(anchor)).quantize(_INDEX_PLACES)
        priced = {i.symbol: Priced.of(i) for i in instruments}
        self._priced.update(priced)
        return ExpiryListing(underlying, expiry, moment, anchor_decimal, tuple(instruments),
                             priced)

    def expiries(self, underlying: Underlying) -> list[datetime]:
        return sorted(self._listings[underlying])

    def listing(self, underlying: Underlying, expiry: datetime) -> ExpiryListing | None:
        return self._listings[underlying].get(expiry)

    def instruments(self, underlying: Underlying) -> list[Instrument]:
        """Every listed instrument, by expiry (kept until the next roll changes them)."""
        found = self._instrument_lists.get(underlying)
        if found is None:
            listings = self._listings[underlying]
            found = tuple(i for expiry in sorted(listings) for i in listings[expiry].instruments)
            self._instrument_lists[underlying] = found
        return list(found)

    def instrument(self, symbol: str) -> Instrument | None:
        """A listed instrument by symbol; None once expired (forgotten at its roll)."""
        return self._by_symbol.get(symbol)

    def held_symbols(self) -> set[str]:
        """Every symbol the market holds anything about: the listed ones only."""
        return set(self._by_symbol) | set(self._priced) | set(self._listed_at)

    def is_listed(self, instrument: Instrument) -> bool:
        return instrument.expiry in self._listings[instrument.underlying]

    def listed_at(self, symbol: str) -> datetime | None:
        return self._listed_at.get(symbol)

    # -- index ---------------------------------------------------------------------
    def index_float(self, underlying: Underlying, second: int) -> float:
        return self.paths[underlying].price(second)

    def index(self, underlying: Underlying, second: int) -> Decimal:
        return Decimal(repr(self.index_float(underlying, second))).quantize(_INDEX_PLACES)

    # -- quotes --------------------------------------------------------------------
    def set_emptied(self, emptied: frozenset[tuple[str, Side]]) -> None:
        self._emptied = emptied
        self.invalidate()

    def invalidate(self) -> None:
        self._cache.clear()
        self._contexts.clear()

    def expiry_quotes(self, underlying: Underlying, expiry: datetime,
                      second: int) -> list[OptionQuote]:
        """The chain rows of one listed expiry at `second`; each priced on first read."""
        lazy = self.expiry_at(underlying, expiry, second)
        return lazy.rows() if lazy is not None else []

    def expiry_at(self, underlying: Underlying, expiry: datetime,
                  second: int) -> LazyExpiry | None:
        """One listed expiry at `second` (cached per live second), None when not listed."""
        live = self.paths[underlying].live_second(second)
        key = (underlying, expiry, live)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        listing = self._listings[underlying].get(expiry)
        if listing is None:
            return None
        lazy = LazyExpiry(listing.priced, self._context(underlying, live), self._count)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = lazy
        return lazy

    def _count(self) -> None:
        self.options_priced += 1

    def state(self, symbol: str, second: int) -> OptionState | None:
        """One listed option at `second` (priced once per second, through its expiry's
        cache); None when unknown or no longer listed."""
        priced = self._priced.get(symbol)
        if priced is None:
            return None
        instrument = priced.instrument
        lazy = self.expiry_at(instrument.underlying, instrument.expiry, second)
        return lazy.state(symbol) if lazy is not None else None

    def figures(self, symbols: Iterable[str], second: int) -> dict[str, QuoteFigures]:
        """`state(symbol, second).quote` of each symbol as plain numbers: the same figures
        without making the rows, their books or their Decimals (quotes.quote_figures). A
        symbol is left out when `state` would give None, or when its tick is not a whole
        number of cents. An option already priced at that second is read from its state."""
        found = {}
        for symbol in symbols:
            priced = self._priced.get(symbol)
            if priced is None:
                continue
            instrument = priced.instrument
            underlying, expiry = instrument.underlying, instrument.expiry
            tick_cents = self._tick_cents[underlying]
            if tick_cents is None or expiry not in self._listings[underlying]:
                continue
            path = self.paths[underlying]
            live = path.live_second(second)
            cached = self._cache.get((underlying, expiry, live))
            if cached is not None:
                state = cached.state(symbol)
                if state is not None:
                    found[symbol] = figures_of_state(state, tick_cents)
                continue
            found[symbol] = quote_figures(
                priced, self._smiles[underlying], self._config.spread_fraction,
                self._ticks[underlying], tick_cents, path.price(live), live, self._emptied)
        return found

    def figure_bounds(self, symbols: Iterable[str], seconds: Sequence[int]
                      ) -> dict[str, FigureBounds] | None:
        """Bounds of each symbol's `figures` over these seconds (quote_bounds.py): from
        the lowest and highest index the quotes show at them. None when one cannot be
        bounded (not listed, near expiry, a second already priced)."""
        found = {}
        boxes: dict[Underlying, tuple[tuple[float, float], tuple[int, int],
                                      Container[int]]] = {}
        for symbol in symbols:
            priced = self._priced.get(symbol)
            if priced is None:
                return None
            instrument = priced.instrument
            underlying, expiry = instrument.underlying, instrument.expiry
            tick_cents = self._tick_cents[underlying]
            if tick_cents is None or expiry not in self._listings[underlying]:
                return None
            box = boxes.get(underlying)
            if box is None:
                box = boxes[underlying] = self.paths[underlying].observed_box(seconds)
            lives = box[2]
            if any(key[2] in lives and key[0] == underlying and key[1] == expiry
                   for key in self._cache):
                return None  # priced already: read at each check (the screen's figures)
            bounds = figure_bounds(priced, self._smiles[underlying],
                                   self._config.spread_fraction, self._ticks[underlying],
                                   tick_cents, box[0], box[1])
            if bounds is None:
                return None
            found[symbol] = bounds
        return found

    def no_bid_throughout(self, symbol: str, seconds: Sequence[int]) -> bool:
        """True only when `symbol`'s book shows no bid at any of these seconds (proven
        from `figure_bounds`); False when it may, or cannot be bounded."""
        bounds = self.figure_bounds([symbol], seconds)
        priced = self._priced.get(symbol)
        if bounds is None or priced is None:
            return False
        tick_cents = self._tick_cents[priced.instrument.underlying]
        return tick_cents is not None and shows_no_bid(bounds[symbol], tick_cents)

    def delta_ladder(self, underlying: Underlying, expiry: datetime, is_call: bool,
                     seconds: Sequence[int]) -> tuple[tuple[float, float], ...] | None:
        """Bounds of the delta of each listed option of one expiry and kind (by ascending
        strike, as a chain's ladder) over these seconds, from the lowest and highest index
        the quotes show at them (quote_bounds.delta_bounds); None when the expiry is not
        listed or an option is too near expiry to be bounded."""
        listing = self._listings[underlying].get(expiry)
        if listing is None:
            return None
        box, span, _ = self.paths[underlying].observed_box(seconds)
        smile = self._smiles[underlying]
        found = []
        for priced in listing.priced.values():
            if priced.is_call is is_call:
                bounds = delta_bounds(priced, smile, box, span)
                if bounds is None:
                    return None
                found.append(bounds)
        return tuple(found)

    def index_range(self, underlying: Underlying, seconds: Sequence[int]) -> tuple[float, float]:
        """The lowest and highest `index_float` at these seconds."""
        return self.paths[underlying].extremes(seconds)

    def _context(self, underlying: Underlying, live: int) -> QuoteContext:
        key = (underlying, live)
        found = self._contexts.get(key)
        if found is not None:
            return found
        index = self.index_float(underlying, live)
        found = QuoteContext(
            market=self._config.underlying(underlying), config=self._config, seed=self._seed,
            index=index, index_decimal=Decimal(repr(index)).quantize(_INDEX_PLACES),
            tick=float(self._config.underlying(underlying).tick), second=live,
            at=datetime.fromtimestamp(live, tz=UTC), emptied=self._emptied,
            sizes=self._sizes[underlying])
        if len(self._contexts) >= _CONTEXTS:
            self._contexts.pop(next(iter(self._contexts)))
        self._contexts[key] = found
        return found
