"""The venue bounds what leg selection reads over a stretch of future checks (issue 12).

`entry_deltas` bounds the delta every option of one expiry and kind shows in the chain
at any of the given moments, in the ladder's order (ascending strike); `entry_expiries`
gives the expiries listed at all of them. Both hold only while the venue would do
nothing before the last moment: otherwise None. These tests read the chain at every
check of stretches from a minute to hours long, for calls and puts of every listed
expiry of both underlyings, and expect each row's delta within its bounds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.sim.venue import SimVenue

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("underlying", [Underlying.BTC, Underlying.ETH])
@pytest.mark.parametrize(("interval", "count"), [(30, 3), (60, 40), (600, 50)])
def test_every_delta_the_chain_shows_at_the_checks_lies_within_its_bounds(
        underlying: Underlying, interval: int, count: int) -> None:
    venue = SimVenue(ManualClock(START), seed=5)
    moments = [START + timedelta(seconds=7 + interval * k) for k in range(count)]
    expiries = venue.entry_expiries(underlying, moments)
    assert expiries
    bounds = {(expiry, kind): venue.entry_deltas(underlying, expiry, kind is OptionKind.CALL,
                                                 moments)
              for expiry in expiries for kind in OptionKind}
    clock = ManualClock(START)
    twin = SimVenue(clock, seed=5)
    bounded = 0
    for moment in moments:
        clock.set(moment)
        for (expiry, kind), found in bounds.items():
            rows = sorted((q for q in twin.option_chain(underlying, expiry)
                           if q.instrument.kind is kind), key=lambda q: q.instrument.strike)
            if found is None:  # only within a minute of expiry
                assert expiry - moments[-1] <= timedelta(minutes=1)
                continue
            bounded += 1
            assert len(found) == len(rows)
            for row, (low, high) in zip(rows, found, strict=True):
                assert low <= row.delta <= high, (row.symbol, moment)
                assert high - low < 1.0  # not empty words
    assert bounded >= count * len(bounds) // 2


def test_nothing_is_bounded_where_the_venue_would_act_first() -> None:
    """Not after the venue's own moment, nor across an 08:00 roll (a new listing)."""
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=5)
    expiry = venue.entry_expiries(Underlying.BTC, [START + timedelta(minutes=1)])[-1]
    ahead = [START + timedelta(minutes=1), START + timedelta(minutes=2)]
    assert venue.entry_deltas(Underlying.BTC, expiry, True, ahead) is not None
    assert venue.entry_expiries(Underlying.BTC, [START, ahead[-1]]) is None
    roll = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    across = [roll - timedelta(minutes=1), roll + timedelta(minutes=1)]
    assert venue.entry_expiries(Underlying.BTC, across) is None
    assert venue.entry_deltas(Underlying.BTC, expiry, True, across) is None
    assert venue.entry_deltas(Underlying.BTC, datetime(2020, 1, 3, 8, tzinfo=UTC), True,
                              ahead) is None  # not listed
