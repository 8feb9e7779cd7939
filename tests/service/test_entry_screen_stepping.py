"""Entry checks whose legs provably fail are not ticks, and no decision changes (issue 12).

While a strategy holding nothing may enter, each of its checks was a tick of an
event-stepped simulation, though most found no strike to trade: none within the delta
tolerance, wings past the listed strikes. The entry screen (service/entry_screen.py)
proves whole stretches of such checks at once from bounds on the chain's deltas; only
the first check it cannot prove becomes a tick. These tests run the same strategy
ticking every second (as live) and stepping by events, and expect the very same trades:
the same open at the same second, the same legs, fills and reasons. Each opens at the
first check at which a strike fits after a stretch at which none does: a screen that
passed over that check would open later (or never), and the trades would differ.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from runner.strategy.model import DeltaStrike, RelativeStrike, StrategySpec
from tests.service.test_simulation_stepping import example_book, run_both

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def _example(name: str) -> StrategySpec:
    return next(spec for spec in example_book() if spec.name == name)


def within_tolerance(spec: StrategySpec, tolerance: str) -> StrategySpec:
    """The strategy's legs chosen by delta only within `tolerance` of their target."""
    return replace(spec, legs=tuple(
        replace(leg, strike=replace(leg.strike, tolerance=Decimal(tolerance)))
        if isinstance(leg.strike, DeltaStrike) else leg for leg in spec.legs))


def with_wings(spec: StrategySpec, steps: int) -> StrategySpec:
    """The condor with its wings `steps` listed strikes beyond its inner strikes."""
    return replace(spec, legs=tuple(
        replace(leg, strike=replace(leg.strike, offset=Decimal(steps if leg.strike.offset > 0
                                                               else -steps)))
        if isinstance(leg.strike, RelativeStrike) else leg for leg in spec.legs))


def created(trades: list[tuple[object, ...]], strategy: str) -> list[object]:
    """When each of the strategy's trades was created (its first stage)."""
    return [record[5][0][1] for record in trades if record[1] == strategy]  # type: ignore[index]


def test_a_strangle_outside_its_delta_tolerance_opens_at_the_first_check_a_strike_fits() -> None:
    """Within 0.02 of 0.20 delta no strike fits from 12:00 to 12:12:30 (every 30 s: "the
    legs cannot be resolved"); at 12:13:00 one does, and the strangle is sold there."""
    strangle = within_tolerance(_example("daily_short_strangle"), "0.02")
    trades, fine, coarse = run_both([strangle], MONDAY.replace(hour=11, minute=59), 20, seed=5)
    assert created(trades, "daily_short_strangle") == [MONDAY.replace(hour=12, minute=13)]
    assert fine == 20 * 60
    assert coarse < 15  # the 25 checks with no strike in tolerance were each a tick


def test_a_condor_whose_wings_are_past_the_listed_strikes_opens_when_they_fit() -> None:
    """Six strikes beyond the 0.25 delta call, the wing is past the listed strikes from
    13:00 to 13:39 (every minute); at 13:40 it is listed, and the condor's RFQ is sent
    there (no maker beats the book by its minimum: the trade fails, at the same second
    either way)."""
    condor = with_wings(_example("reverse_iron_condor_rfq"), 6)
    trades, _, coarse = run_both([condor], MONDAY.replace(hour=12, minute=58), 46, seed=7)
    assert created(trades, "reverse_iron_condor_rfq") == [MONDAY.replace(hour=13, minute=40)]
    assert coarse < 30  # the 39 checks with a wing past the listed strikes were each a tick
