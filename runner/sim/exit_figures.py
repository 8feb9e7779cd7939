"""What a held trade's market exits read from the simulated venue, as plain numbers.

Mixed into SimVenue for the exit screen (service/exit_screen.py): over a year most of a
simulation's steps are checks of held trades' exits at which nothing fires, and making
their chain rows (Decimals, greeks, a row object per leg) and a snapshot at every check
was most of their cost. These are the same figures `option_quotes` and `index_price`
give at the same moment (quotes.quote_figures), and reading them brings the venue up to
the clock as every public call does (so resting orders meet the market at the same
moments whether or not a check is screened).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

from runner.domain.instruments import Underlying
from runner.sim.market import Market, epoch_second
from runner.sim.quotes import QuoteFigures


class ExitFigureReads:
    """Mixed into SimVenue; relies on the venue's lock, market and catch-up."""

    _lock: threading.RLock
    _market: Market

    def _catch_up(self) -> datetime:
        raise NotImplementedError

    def exit_figures(self, symbols: Iterable[str], underlyings: Iterable[Underlying]
                     ) -> tuple[dict[str, QuoteFigures], dict[Underlying, float]]:
        """Now: the chain figures of these listed options (others left out, as
        `option_quotes` leaves them out) and these underlyings' index as a float (the
        float `index_price` rounds to cents)."""
        with self._lock:
            second = epoch_second(self._catch_up())
            market = self._market
            return (market.figures(symbols, second),
                    {u: market.index_float(u, second) for u in underlyings})
