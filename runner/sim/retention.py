"""The simulated venue's memory stays flat: finished history older than a window is forgotten.

Every order, fill, RFQ, block trade and exercise the venue ever recorded used to stay in
memory (about 1 KB an order), so a year of simulated trading grew without bound (issue 12).
The venue now keeps only `history_retention` (default 7 days, as the saved state's window
in venue_state.py) of FINISHED history: an order that ended before the window, with its
fills and the liquidity they took; an RFQ no longer active and last changed before it;
block trades and exercises before it; delivery prices older than the longer of the window
and `DELIVERIES_KEPT` (90 days). Working orders (with all their fills) and
active RFQs are never forgotten; the client order ids of forgotten orders stay refused
(10577, kept at 8 bytes each, id_set.py).

Who reads what is forgotten: the port's history reads (`fills`, `exercises`,
`block_trades`, `get_order`) and the HTTP server's history endpoints answer from the window,
as Coincall's own are windowed (order history defaults to the last 24 h; coincall-api.md).
The runner reads back only recent history: its fill polling from its oldest live order,
settlement's exercises from the expiry a day before, block trades from its request's
creation, today's fills at a start; a fill of a forgotten order was recorded by the
runner when it happened (the store deduplicates). `None` keeps everything.

Forgetting runs as the venue catches up, on an epoch-aligned grid of `min(window,
FORGET_EVERY)`: at `now` the venue holds what ended after (last grid moment - window),
whenever and however often it was read (a venue restored from its saved state holds the
same), so the history held spans at most the window plus one step.
It happens only when the venue's moment moves (caches keyed by it, exit_figures.py, are
renewed then), and it counts what it forgot (`forgotten`), which the saved-state change
marker includes, so a forget and a new record between two saves are never mistaken for
no change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from runner.domain.rfq import RfqState
from runner.sim.makers import RfqDesk
from runner.sim.matching import Matcher
from runner.sim.records import ExerciseRecord
from runner.sim.settlement import DeliveryPrice
from runner.sim.venue_state import DEFAULT_RETENTION

DEFAULT_HISTORY_RETENTION: Final = DEFAULT_RETENTION
FORGET_EVERY: Final = timedelta(days=1)
# Delivery prices are tiny (two a day) and Coincall serves every one: kept for the span
# Coincall's history reads allow (90 days), three times the back-filled month; the runner
# reads back at most the month (venue_records.DELIVERY_LOOKBACK_DAYS).
DELIVERIES_KEPT: Final = timedelta(days=90)


class HistoryRetention:
    """Mixed into SimVenue: forgets finished history older than `history_retention`."""

    _matcher: Matcher
    _desk: RfqDesk
    _exercises: list[ExerciseRecord]
    _deliveries: list[DeliveryPrice]
    history_retention: timedelta | None = DEFAULT_HISTORY_RETENTION
    forgotten: int = 0  # records forgotten so far
    _forgot_at: datetime | None = None  # the grid moment last forgotten up to

    def _forget_history(self, now: datetime) -> None:
        """Forget what ended before the window of the last forget moment up to `now`."""
        window = self.history_retention
        if window is None:
            return
        moment = forget_moment(now, min(window, FORGET_EVERY))
        if self._forgot_at is not None and moment <= self._forgot_at:
            return
        self._forgot_at = moment
        self.forgotten += forget_before(self, moment - window, now,
                                        moment - max(window, DELIVERIES_KEPT))


def forget_moment(now: datetime, step: timedelta) -> datetime:
    """The last moment of the epoch-aligned grid of `step` (at least a second) not after
    `now`: what is held then depends on the time alone, not on when the venue was read."""
    seconds = max(1, int(step.total_seconds()))
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=UTC)


def forget_before(venue: HistoryRetention, cutoff: datetime, now: datetime,
                  deliveries_cutoff: datetime) -> int:
    """Forget the venue's finished history before `cutoff`; return how many records went."""
    gone = venue._matcher.forget_finished(cutoff, now)
    desk = venue._desk
    requests = {key: r for key, r in desk.requests.items()
                if r.state is RfqState.ACTIVE or (r.updated_at or r.created_at) >= cutoff}
    trades = [t for t in desk.block_trades if t.at is None or t.at >= cutoff]
    exercises = [e for e in venue._exercises if e.at >= cutoff]
    deliveries = [d for d in venue._deliveries if d.expiry >= deliveries_cutoff]
    gone += (len(desk.requests) - len(requests) + len(desk.block_trades) - len(trades)
             + len(venue._exercises) - len(exercises) + len(venue._deliveries) - len(deliveries))
    desk.requests, desk.block_trades = requests, trades
    venue._exercises, venue._deliveries = exercises, deliveries
    return gone
