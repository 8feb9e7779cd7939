"""The RFQ look-ahead's bookless pass-over sees a second leg lose its bid (issue 12).

Selling two deep out-of-the-money legs by RFQ, one without a bid throughout (lessons B12:
deep OTM legs show no bid), the executor has no book cost to judge quotes by, and every
tick changes nothing while the same legs lack a bid. When the other leg's bid vanishes
too, the executor records it (`unpriced_legs`, read by the failure reason): that tick is
an act the look-ahead must step to, although the book stays missing and the quotes stay
the same. The look-ahead passes a bookless stretch over only when its inputs, which
sides are missing included, are those of the last step tried (`_Look.pass_over`, the
"inputs unchanged" guard): given a stretch that starts at the very second the bid
vanishes, it answers that second, as a second-by-second search with the executor's own
step does. (The "nothing priced yet" guard before that comparison is a shortcut it
implies, which no answer can tell apart: rfq_probe.py says why.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runner.domain.clock import ManualClock
from runner.domain.commands import QuotesReceived
from runner.domain.orders import Side
from runner.domain.trades import Trade
from runner.execution import ExecutionState, advance
from runner.service.rfq_probe import rfq_event
from runner.sim.forecast import Pacer, VenueForecast
from runner.sim.venue import SimVenue
from tests.execution.helpers_execution import new_trade
from tests.service.test_rfq_probe import (
    HOUR_LONG_QUOTES,
    SECOND,
    books,
    collecting,
    second_by_second,
    window,
)

SEED = 4
ALWAYS_BIDLESS = "ETHUSD-3MAR26-2600-P"
LOSES_ITS_BID = "ETHUSD-3MAR26-2700-P"
VANISHES = datetime(2026, 3, 2, 10, 0, 51, tzinfo=UTC)  # LOSES_ITS_BID's bid, seed 4
# The look-ahead's first stretch (from the first tick) is refused, its ticks are stepped
# one by one, and the next stretch starts right after them (forecast.Pacer): there.
STEPPED_FIRST = Pacer.FIRST
NEXT_STRETCH = Pacer.FIRST // 2


def stepped_until(venue: SimVenue, clock: ManualClock, trade: Trade,
                  until: datetime) -> tuple[ExecutionState, VenueForecast]:
    """The trade's RFQ, collecting its makers' first quotes, stepped by its executor
    every second up to `until` (no act: no quote can be judged without a book), with the
    venue read at `until`, as at a tick."""
    state, now = collecting(venue, clock, trade)
    rfq = state.rfq
    assert rfq is not None
    assert rfq.request_id is not None
    forecast = venue.order_forecast()
    symbols = [leg.symbol for leg in rfq.wanted]
    while now < until:
        now += SECOND
        quotes = forecast.quotes_at(rfq.request_id, now)
        step = advance(state, trade, books(forecast, symbols, now),
                       (QuotesReceived(rfq.request_id, quotes),), now)
        assert step.state is not None
        assert step.commands == ()
        state = step.state
    clock.set(until)
    venue.rfq_quotes(rfq.request_id)  # read: the venue catches up
    return state, venue.order_forecast()


def test_a_bid_vanishing_where_a_bookless_stretch_starts_is_stepped_to() -> None:
    """Given the second leg's bid shown for the look-ahead's first ticks and missing from
    the second its next stretch starts (proven missing over that stretch), the probe
    names that second, as the search does.

    Checked: red when the "inputs unchanged" guard of `_Look.pass_over` always passes
    (the stretch is passed over as if nothing changed, and the probe answers later);
    green on the real code."""
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    venue = SimVenue(clock, seed=SEED, config=HOUR_LONG_QUOTES)
    trade = new_trade((ALWAYS_BIDLESS, Side.SELL, "10"), (LOSES_ITS_BID, Side.SELL, "10"))
    now = VANISHES - (STEPPED_FIRST + 1) * SECOND
    state, forecast = stepped_until(venue, clock, trade, now)
    symbols = [ALWAYS_BIDLESS, LOSES_ITS_BID]
    # The market as described: one leg never bid, the other bid until VANISHES, then
    # proven bidless over the stretch that starts there.
    assert all(forecast.tops_at(symbols, now + k * SECOND)[LOSES_ITS_BID][0] is not None
               for k in range(STEPPED_FIRST + 1))
    stretch = forecast.top_ranges(symbols, VANISHES, VANISHES + (NEXT_STRETCH - 1) * SECOND)
    assert stretch is not None
    assert stretch[ALWAYS_BIDLESS].no_bid
    assert stretch[LOSES_ITS_BID].no_bid
    assert state.rfq is not None
    assert state.rfq.unpriced_legs == (f"no bid for {ALWAYS_BIDLESS}",)
    limit = window(state, forecast, now)
    assert limit - now > timedelta(minutes=30)

    # The probe first, as the service asks it: the search prices every second, and the
    # market bounds no stretch holding a second already priced (Market.figure_bounds).
    assert rfq_event(trade, state, forecast, now, SECOND, limit) == VANISHES
    assert second_by_second(trade, state, forecast, now, limit) == VANISHES
    assert clock.now() == now  # looking ahead moved nothing
