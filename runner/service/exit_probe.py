"""Looking ahead at a held trade's market exits without a whole tick (simulation only).

A held trade with exits that read the market (PnL, greeks, index move) must be looked at
every check interval, as live: over a year that is most of a simulation's steps, and a
whole service tick (store, dispatcher, every read) per check made a year of the example
book take an hour. Between the moments fixed by the clock, a simulation stepping by
events asks this probe instead: it reads what the exit rules read (the index and the
chain of the trade's own expiries, the positions) from the simulated exchange at the
check, and evaluates the same pure exit rules (engine/decide.exit_decisions). Only a check
at which a rule fires becomes a tick, where the service decides it again from its own
snapshot.

It never probes what it cannot see the same way: an account delta exit (it reads every
held position's chain), or trades managed from another copy of their strategy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying, parse_symbol
from runner.domain.snapshot import Chain, MarketSnapshot
from runner.engine.decide import exit_decisions
from runner.engine.state import StrategyState
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange
from runner.strategy.model import AccountDeltaExit, StrategySpec


class ExitProbe:
    """Evaluates held trades' market exits at a future check, straight from the venue."""

    def __init__(self, exchange: Exchange, clock: ManualClock) -> None:
        self._exchange = exchange
        self._clock = clock
        self.probes = 0

    @staticmethod
    def can_probe(spec: StrategySpec) -> bool:
        return not any(isinstance(rule, AccountDeltaExit) for rule in spec.exits)

    def fires(self, views: Sequence[tuple[StrategySpec, StrategyState]],
              at: datetime) -> bool:
        """Whether any exit of these strategies' held trades would fire at `at` (True
        also when the market cannot be read: then the tick decides)."""
        self._clock.set(at)
        self.probes += 1
        try:
            snapshot = self._snapshot(views, at)
        except ExchangeError:
            return True
        return any(exit_decisions(spec, state, snapshot, at) for spec, state in views)

    def _snapshot(self, views: Sequence[tuple[StrategySpec, StrategyState]],
                  at: datetime) -> MarketSnapshot:
        series = {(parts.underlying, parts.expiry)
                  for _, state in views for trade in state.active_trades
                  for parts in (parse_symbol(leg.symbol) for leg in trade.legs)}
        underlyings = {spec.underlying for spec, _ in views} | {u for u, _ in series}
        rows: dict[Underlying, list] = {}
        for underlying, expiry in sorted(series):
            rows.setdefault(underlying, []).extend(
                self._exchange.option_chain(underlying, expiry, fresh=True))
        return MarketSnapshot(
            at=at, index_prices={u: self._exchange.index_price(u) for u in sorted(underlyings)},
            chains={u: Chain.of(u, quotes) for u, quotes in rows.items()},
            positions=tuple(self._exchange.positions()))
