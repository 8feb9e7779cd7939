"""What a held trade's market exits read from the simulated venue, as plain numbers.

Mixed into SimVenue for the exit screen (service/exit_screen.py): over a year most of a
simulation's steps are checks of held trades' exits at which nothing fires, and making
their chain rows (Decimals, greeks, a row object per leg) and a snapshot at every check
was most of their cost. These are the same figures `option_quotes` and `index_price`
give at the same moment (quotes.quote_figures).

Reading them brings the venue up to the clock as every public call does (resting orders
meet the market at the same moments whether or not a check is screened), except when
catching up would do nothing: no order rests, no RFQ is active and no 08:00 (a roll)
lies between the venue's last moment and now. Then the market is read at now as it is;
the next call catches up over the whole stretch, to the same state (venue.py's
invariant: nothing happens between calls, and with nothing working catching up only
moves the venue's moment).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime

from runner.domain.clock import Clock
from runner.domain.instruments import Underlying
from runner.domain.rfq import RfqState
from runner.sim.listing import next_expiry_moment
from runner.sim.makers import RfqDesk
from runner.sim.market import Market, epoch_second
from runner.sim.matching import Matcher
from runner.sim.quote_bounds import FigureBounds
from runner.sim.quotes import QuoteFigures

_ACTIVE = RfqState.ACTIVE


class ExitFigureReads:
    """Mixed into SimVenue; relies on the venue's lock, clock, market and catch-up."""

    _lock: threading.RLock
    _clock: Clock
    _now: datetime
    _market: Market
    _matcher: Matcher
    _desk: RfqDesk

    def _catch_up(self) -> datetime:
        raise NotImplementedError

    def exit_figures(self, symbols: Iterable[str], underlyings: Iterable[Underlying]
                     ) -> tuple[dict[str, QuoteFigures], dict[Underlying, float]]:
        """Now: the chain figures of these listed options (others left out, as
        `option_quotes` leaves them out) and these underlyings' index as a float (the
        float `index_price` rounds to cents)."""
        with self._lock:
            now = self._clock.now()
            if not self._idle_until(now):
                now = self._catch_up()
            second = epoch_second(now)
            market = self._market
            return (market.figures(symbols, second),
                    {u: market.index_float(u, second) for u in underlyings})

    def exit_bounds(self, symbols: Iterable[str], underlyings: Iterable[Underlying],
                    moments: Sequence[datetime]
                    ) -> tuple[dict[str, FigureBounds], dict[Underlying, tuple[float, float]]
                               ] | None:
        """Bounds of the figures `exit_figures` would give at each of these future moments
        (ascending), and the lowest and highest index at them; None when the venue would
        do anything before the last (an order rests, an RFQ is active, a roll) or an
        option cannot be bounded. Reads nothing of the venue's state but the market."""
        with self._lock:
            if moments[0] <= self._now or not self._idle_until(moments[-1]):
                return None
            seconds = [epoch_second(moment) for moment in moments]
            market = self._market
            bounds = market.figure_bounds(symbols, seconds)
            if bounds is None:
                return None
            return bounds, {u: market.index_range(u, seconds) for u in underlyings}

    def _idle_until(self, now: datetime) -> bool:
        """Whether catching up to `now` would only move the venue's moment."""
        if now <= self._now or self._matcher.open:
            return False
        seen = self.__dict__.get("_idle_marks")
        if seen is None or seen[0] != self._now:
            seen = self.__dict__["_idle_marks"] = (self._now, next_expiry_moment(self._now),
                                                   None)
        if now >= seen[1]:
            return False
        desk = self._desk
        idle = seen[2]
        if idle is None or idle[0] is not desk or idle[1] != len(desk.requests):
            # a request is active from its creation only: none active stays so until the
            # desk holds another request
            none_active = all(r.state is not _ACTIVE for r in desk.requests.values())
            idle = (desk, len(desk.requests), none_active)
            self.__dict__["_idle_marks"] = (seen[0], seen[1], idle)
        return idle[2]
