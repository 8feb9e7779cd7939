"""Looking ahead at a held trade's market exits without a whole tick (simulation only).

A held trade with exits that read the market (PnL, greeks, index move) must be looked at
every check interval, as live: over a year that is most of a simulation's steps, and a
whole service tick (store, dispatcher, every read) per check made a year of the example
book take an hour. Between the moments fixed by the clock, a simulation stepping by
events asks this probe instead: it reads what the exit rules read from the simulated
exchange at the check, and evaluates the same pure exit rules
(engine/decide.exit_decisions). Only a check at which a rule fires becomes a tick, where
the service decides it again from its own snapshot.

What the rules it evaluates read (engine/exits.py), and so all the probe reads:
- the chain quote (mark, bid, ask, greeks) of each held leg: PnL on every basis, the
  structure's delta, a leg's greek. A tick reads them from their expiries' whole chains;
  the probe asks the venue for those legs only (`QuoteSource`), the same rows, so a probe
  costs the legs held, not the strike grid (issue 12 item 2);
- the index of the strategy's underlying, only for an `index_move` exit;
- never the positions: only an account delta exit decides on them, and it is not probed;
  the others read them only for the words beside a decision, which a probe never writes.

It never probes what it cannot see the same way: an account delta exit (it reads every
held position's chain), or trades managed from another copy of their strategy.

Cost (issue 12): on the simulated venue a screen stands in front of the exact probe
(exit_screen.py): the same rules on the legs' figures as plain numbers, with a margin;
only a check at which a rule may fire is probed exactly, and so decided by the engine.
The stepping first asks about whole stretches of checks at once (`none_fire_within`,
exit_stretch.py), and looks at checks one by one only where a stretch may fire.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import cast

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying, parse_symbol
from runner.domain.snapshot import Chain, MarketSnapshot, OptionQuote
from runner.engine.decide import exit_decisions
from runner.engine.state import StrategyState
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange, QuoteSource
from runner.service.exit_screen import ExitFigureSource, ExitScreen
from runner.strategy.model import AccountDeltaExit, IndexMoveExit, StrategySpec

Views = Sequence[tuple[StrategySpec, StrategyState]]


class ExitProbe:
    """Evaluates held trades' market exits at a future check, straight from the venue."""

    def __init__(self, exchange: Exchange, clock: ManualClock, *, screen: bool = True) -> None:
        self._exchange = exchange
        self._by_symbol = exchange if isinstance(exchange, QuoteSource) else None
        self._clock = clock
        # Screened only on a venue whose own class gives the figures: a wrapper that
        # forwards them (a fault injector) must be read through its faults.
        screened = screen and isinstance(getattr(type(exchange), "exit_figures", None),
                                         Callable)
        self._screen = ExitScreen(cast(ExitFigureSource, exchange)) if screened else None
        self.exact = 0  # of them, checks the screen could not rule out (probed exactly)
        self.stretched = 0  # of them, checks ruled out with a whole stretch at once

    @property
    def screened(self) -> bool:
        """Whether a screen (exit_screen.py) spares the exact probe where nothing fires."""
        return self._screen is not None

    @staticmethod
    def can_probe(spec: StrategySpec) -> bool:
        return not any(isinstance(rule, AccountDeltaExit) for rule in spec.exits)

    def fires(self, views: Views, at: datetime) -> bool:
        """Whether any exit of these strategies' held trades would fire at `at` (True
        also when the market cannot be read: then the tick decides)."""
        self._clock.set(at)
        if self._screen is not None and not self._screen.may_fire(views, at):
            return False
        self.exact += 1
        try:
            snapshot = self.snapshot(views, at)
        except ExchangeError:
            return True
        return any(exit_decisions(spec, state, snapshot, at) for spec, state in views)

    def none_fire_within(self, views: Views, moments: Sequence[datetime]) -> bool:
        """True only when no exit of these views can fire at any of these future checks
        (ascending), known without looking at each (exit_stretch.py); False also when
        that cannot be told: then each check is probed."""
        if self._screen is None or not self._screen.none_fire_within(views, moments):
            return False
        self.stretched += len(moments)
        return True

    def snapshot(self, views: Views, at: datetime) -> MarketSnapshot:
        """What the exit rules of these views read at `at`, and nothing else."""
        symbols = sorted({leg.symbol for _, state in views for trade in state.active_trades
                          for leg in trade.legs})
        chains: dict[Underlying, list[OptionQuote]] = {}
        for quote in self._leg_quotes(symbols):
            chains.setdefault(quote.instrument.underlying, []).append(quote)
        watched = sorted({spec.underlying for spec, _ in views
                          if any(isinstance(rule, IndexMoveExit) for rule in spec.exits)})
        return MarketSnapshot(
            at=at, index_prices={u: self._exchange.index_price(u) for u in watched},
            chains={u: Chain.of(u, quotes) for u, quotes in chains.items()})

    def _leg_quotes(self, symbols: list[str]) -> list[OptionQuote]:
        """The legs' quotes: by symbol where the venue can, else from their expiries' chains."""
        if self._by_symbol is not None:
            return self._by_symbol.option_quotes(symbols)
        wanted = set(symbols)
        series = sorted({(parts.underlying, parts.expiry)
                         for parts in (parse_symbol(symbol) for symbol in symbols)})
        return [quote for underlying, expiry in series
                for quote in self._exchange.option_chain(underlying, expiry, fresh=True)
                if quote.symbol in wanted]
