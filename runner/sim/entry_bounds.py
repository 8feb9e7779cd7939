"""What a strategy's leg selection reads from the simulated venue, bounded over a stretch.

Mixed into SimVenue for the entry screen (service/entry_screen.py): most entry checks of a
year's simulation decide nothing because no strike fits the legs (none within a delta
tolerance, a wing past the listed strikes), and a whole tick for each was most of the
year's ticks. Over a stretch of future checks the screen asks for what the engine's
strike rules would read at each of them: the expiries listed, and bounds on the delta of
every option of one expiry and kind (quote_bounds.delta_bounds, from the lowest and
highest index the quotes show at those seconds, the index computed exactly at each).

Both hold only while the venue would do nothing before the last of the moments (no order
rests, no RFQ is active, no 08:00 roll changes the listing): otherwise None, and the
screen leaves each check to its tick. Reading them changes nothing of the venue (no
catch-up): the next public call catches up over the whole stretch, to the same state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from runner.domain.instruments import Underlying
from runner.sim.market import Market, epoch_second


class EntryBoundReads:
    """Mixed into SimVenue; relies on the venue's lock, moment, market and idle test
    (`_idle_until`, exit_figures.ExitFigureReads)."""

    _lock: threading.RLock
    _now: datetime
    _market: Market
    _idle_until: Callable[[datetime], bool]

    def entry_expiries(self, underlying: Underlying, moments: Sequence[datetime]
                       ) -> tuple[datetime, ...] | None:
        """The expiries listed at every one of these future moments (ascending; the same
        at all of them), including any at or before a moment (a strike rule's reader
        drops those); None when the venue would do anything before the last."""
        with self._lock:
            if not self._ahead(moments):
                return None
            return tuple(self._market.expiries(underlying))

    def entry_deltas(self, underlying: Underlying, expiry: datetime, is_call: bool,
                     moments: Sequence[datetime]) -> tuple[tuple[float, float], ...] | None:
        """Bounds of the delta each option of one listed expiry and kind (ascending strike,
        as the chain's ladder) shows at any of these future moments; None when the venue
        would do anything before the last, or an option cannot be bounded."""
        with self._lock:
            if not self._ahead(moments):
                return None
            return self._market.delta_ladder(underlying, expiry, is_call,
                                             [epoch_second(moment) for moment in moments])

    def _ahead(self, moments: Sequence[datetime]) -> bool:
        return bool(moments) and moments[0] > self._now and self._idle_until(moments[-1])
