"""The entry screen rules out only checks at which the engine itself finds no strike.

Whatever stretch of entry checks the screen (service/entry_screen.py) proves, a tick at
any one of its checks would have found the legs unresolvable: these tests read a twin
venue at every check of a day's hours as a tick reads it (the listed expiries, the
chains the legs' expiry rules choose, the index) and resolve the legs with the engine
(engine/selection.py), then ask the screen about stretches of the same checks, as the
stepping does, and expect every check it passes over to be a failed leg selection. The
proof is not empty either: most checks at which no strike fits are passed over.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.domain.snapshot import Chain, MarketSnapshot
from runner.engine.expiries import expiries_needed
from runner.engine.selection import LegFailure, resolve_legs
from runner.service.entry_screen import EntryScreen, leg_proofs
from runner.sim.venue import SimVenue
from runner.strategy.model import (
    AtmStrike,
    DaysWindowExpiry,
    DeltaStrike,
    OffsetUnit,
    RelativeStrike,
    StrategySpec,
)
from tests.service.test_entry_screen_stepping import with_wings, within_tolerance
from tests.service.test_simulation_stepping import example_book

START = datetime(2026, 3, 2, 9, 59, tzinfo=UTC)
INTERVAL = timedelta(seconds=30)
CHECKS = 6 * 120  # 10:00 to 16:00


def _example(name: str) -> StrategySpec:
    return next(spec for spec in example_book() if spec.name == name)


def screened_book() -> list[StrategySpec]:
    strangle, condor = _example("daily_short_strangle"), _example("reverse_iron_condor_rfq")
    return [within_tolerance(strangle, "0.02"), within_tolerance(strangle, "0.05"),
            with_wings(condor, 5), with_wings(condor, 6),
            with_wings(within_tolerance(condor, "0.03"), 4)]


def fails_by_the_engine(specs: list[StrategySpec], seed: int,
                        moments: list[datetime]) -> list[list[bool]]:
    """Per check, per strategy: whether the engine fails to resolve the legs on what a
    tick at that check reads from the venue."""
    clock = ManualClock(START)
    twin = SimVenue(clock, seed=seed)
    found = []
    for moment in moments:
        clock.set(moment)
        listed = {Underlying.BTC: tuple(sorted({i.expiry for i in twin.instruments(
            Underlying.BTC) if i.expiry > moment}))}
        quotes = [quote for underlying, expiry in sorted(expiries_needed(specs, listed, moment))
                  for quote in twin.option_chain(underlying, expiry)]
        snapshot = MarketSnapshot(at=moment,
                                  index_prices={Underlying.BTC: twin.index_price(Underlying.BTC)},
                                  chains={Underlying.BTC: Chain.of(Underlying.BTC, quotes)},
                                  listed_expiries=listed)
        found.append([isinstance(resolve_legs(spec, snapshot, moment), LegFailure)
                      for spec in specs])
    return found


@pytest.mark.parametrize("seed", [3, 7])
def test_every_check_the_screen_passes_over_is_a_failed_leg_selection(seed: int) -> None:
    specs = screened_book()
    moments = [START + timedelta(minutes=1) + k * INTERVAL for k in range(CHECKS)]
    engine = fails_by_the_engine(specs, seed, moments)
    screen = EntryScreen(SimVenue(ManualClock(START), seed=seed))
    for number, spec in enumerate(specs):
        passed = failing = 0
        start = 0
        while start < len(moments):
            ahead = moments[start:]
            proven = screen.failing(spec, lambda count, ahead=ahead: ahead[:count])
            for offset in range(proven):
                assert engine[start + offset][number], (spec.name, moments[start + offset])
            passed += proven
            start += proven + 1
        failing = sum(1 for row in engine if row[number])
        assert failing == 0 or passed >= failing * 9 // 10, (spec.name, passed, failing)
    assert screen.passed > CHECKS  # the book's legs fail at most checks: proven, mostly


def test_the_legs_it_can_prove_are_delta_tolerances_and_wings_counted_in_strikes() -> None:
    strangle, condor = _example("daily_short_strangle"), _example("reverse_iron_condor_rfq")
    assert [(p.target, p.tolerance, p.steps) for p in leg_proofs(strangle)] == [
        (0.2, 0.05, 0), (-0.2, 0.05, 0)]
    assert [(p.target, p.tolerance, p.steps) for p in leg_proofs(condor)] == [
        (0.25, None, 5), (-0.25, None, -5)]
    untolerant = replace(strangle, legs=tuple(
        replace(leg, strike=DeltaStrike(leg.strike.target)) for leg in strangle.legs))
    in_usd = replace(condor, legs=tuple(
        replace(leg, strike=replace(leg.strike, unit=OffsetUnit.USD))
        if isinstance(leg.strike, RelativeStrike) else leg for leg in condor.legs))
    at_the_money = replace(strangle, legs=tuple(
        replace(leg, strike=AtmStrike()) for leg in strangle.legs))
    for spec in (untolerant, in_usd, at_the_money):
        assert leg_proofs(spec) == ()
        assert not EntryScreen(SimVenue(ManualClock(START), seed=3)).can_screen(spec)


def test_nothing_is_proven_where_the_expiry_chosen_may_move_or_the_venue_may_act() -> None:
    """A `days` window's choice moves with the clock; an 08:00 roll changes the listing."""
    strangle = within_tolerance(_example("daily_short_strangle"), "0.0001")
    screen = EntryScreen(SimVenue(ManualClock(START), seed=3))
    noon = START.replace(hour=12, minute=0)
    hour = [noon + k * INTERVAL for k in range(120)]
    assert screen.failing(strangle, lambda count: hour[:count]) == 120
    windowed = replace(strangle, legs=tuple(
        replace(leg, expiry=DaysWindowExpiry(1, 2)) for leg in strangle.legs))
    assert screen.failing(windowed, lambda count: hour[:count]) == 0
    roll = START.replace(hour=8) + timedelta(days=1)
    across_the_roll = [roll - timedelta(hours=1) + k * INTERVAL for k in range(240)]
    proven = screen.failing(strangle, lambda count: across_the_roll[:count])
    assert 0 < proven < 120
    assert across_the_roll[proven] <= roll  # the roll changes the listing
    past = [START - timedelta(minutes=1), START + timedelta(minutes=1)]
    assert screen.failing(strangle, lambda count: past[:count]) == 0
