"""Strike rules: which option of one expiry and kind a leg trades.

Semantics: strategy-semantics.md "Strike rules", model.StrikeRule. Input: the quotes of
one expiry and one option kind, ascending by strike. Output: the chosen quote, or a
`NoStrike` saying why none fits.

Invariants and choices:
- Deltas are the exchange's own greeks from the chain (one chain request serves every
  leg; old-system c.3 fetched up to 50 details per leg). A quote without greeks is not
  a delta candidate. Calls have positive, puts negative deltas, as the spec writes them.
- ATM is the listed strike closest to the index price of the leg's underlying. With no
  index price the rule cannot resolve: no constant, no other venue's price (lessons C2).
- "Closest" ties go to the lower strike, so a choice never depends on dict order.
- `steps` counts listed strikes of this expiry and kind; moving past either end fails.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from runner.domain.snapshot import OptionQuote, StrikeLadder
from runner.strategy.model import (
    AtmStrike,
    DeltaStrike,
    FixedStrike,
    MoveUnit,
    OffsetUnit,
    RelativeStrike,
    SpotDistanceStrike,
    StepsFromAtmStrike,
    StrikeRule,
)

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class NoStrike:
    """Why a strike rule found nothing."""

    reason: str


def pick_strike(rule: StrikeRule, ladder: StrikeLadder, index: Decimal | None,
                earlier_strikes: Mapping[int, Decimal]) -> OptionQuote | NoStrike:
    """The quote the rule selects on `ladder` (one expiry and kind, ascending strikes)."""
    quotes = ladder.quotes
    if not quotes:
        return NoStrike("no options listed for this expiry and kind")
    match rule:
        case DeltaStrike():
            return _by_delta(rule, ladder)
        case FixedStrike():
            found = next((q for q in quotes if q.instrument.strike == rule.strike), None)
            return found or NoStrike(f"strike {rule.strike} is not listed")
        case RelativeStrike():
            return _relative(rule, ladder, earlier_strikes)
    if index is None:
        return NoStrike("no index price for the underlying this tick: price rules cannot "
                        "be resolved (C2)")
    match rule:
        case AtmStrike():
            return quotes[closest_index(ladder.strikes, index)]
        case SpotDistanceStrike():
            return quotes[closest_index(ladder.strikes, _moved(index, rule.distance, rule.unit))]
        case StepsFromAtmStrike():
            return _steps_from(ladder, closest_index(ladder.strikes, index), rule.steps, "ATM")
    raise TypeError(f"unknown strike rule {rule!r}")


def closest_index(strikes: tuple[Decimal, ...], target: Decimal) -> int:
    """Where on `strikes` (ascending, not empty) the strike closest to `target` is; ties go
    to the lower strike, and among equal strikes to the first: what a scan for the least
    (distance, strike) finds, by bisection instead of a pass over the whole expiry."""
    above = bisect_left(strikes, target)
    if above == len(strikes):
        return bisect_left(strikes, strikes[-1])
    if above == 0:
        return 0
    below = strikes[above - 1]
    if target - below <= strikes[above] - target:
        return bisect_left(strikes, below)
    return above


def _moved(base: Decimal, amount: Decimal, unit: MoveUnit | OffsetUnit) -> Decimal:
    if unit.value == "pct":
        return base * (1 + amount / _HUNDRED)
    return base + amount


def _by_delta(rule: DeltaStrike, ladder: StrikeLadder) -> OptionQuote | NoStrike:
    """The least (distance to the target, strike): the first least distance on the ladder,
    which ascends by strike (the deltas are read once per ladder, not per strategy)."""
    quotes, deltas = ladder.deltas()
    if not quotes:
        return NoStrike("no option of this expiry and kind carries a delta")
    target = float(rule.target)
    gaps = [abs(delta - target) for delta in deltas]
    distance = min(gaps)
    best = quotes[gaps.index(distance)]
    if rule.tolerance is not None and distance > float(rule.tolerance):
        return NoStrike(f"closest delta {best.delta:+.4f} ({best.symbol}) is more than "
                        f"{rule.tolerance} from the target {rule.target}")
    return best


def _steps_from(ladder: StrikeLadder, base: int, steps: int,
                what: str) -> OptionQuote | NoStrike:
    quotes = ladder.quotes
    position = base + steps
    if not 0 <= position < len(quotes):
        return NoStrike(f"{steps:+d} strikes from {what} {quotes[base].instrument.strike} is "
                        f"past the listed strikes ({quotes[0].instrument.strike} to "
                        f"{quotes[-1].instrument.strike})")
    return quotes[position]


def _relative(rule: RelativeStrike, ladder: StrikeLadder,
              earlier_strikes: Mapping[int, Decimal]) -> OptionQuote | NoStrike:
    base = earlier_strikes.get(rule.leg)
    if base is None:
        return NoStrike(f"leg {rule.leg} is not resolved before this leg")
    if rule.unit is OffsetUnit.STEPS:
        return _steps_from(ladder, closest_index(ladder.strikes, base), int(rule.offset),
                           f"leg {rule.leg}'s strike")
    return ladder.quotes[closest_index(ladder.strikes, _moved(base, rule.offset, rule.unit))]
