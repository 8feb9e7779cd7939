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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from runner.domain.snapshot import OptionQuote
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


def pick_strike(rule: StrikeRule, quotes: Sequence[OptionQuote], index: Decimal | None,
                earlier_strikes: Mapping[int, Decimal]) -> OptionQuote | NoStrike:
    """The quote the rule selects among `quotes` (one expiry and kind, ascending strikes)."""
    if not quotes:
        return NoStrike("no options listed for this expiry and kind")
    match rule:
        case DeltaStrike():
            return _by_delta(rule, quotes)
        case FixedStrike():
            found = next((q for q in quotes if q.instrument.strike == rule.strike), None)
            return found or NoStrike(f"strike {rule.strike} is not listed")
        case RelativeStrike():
            return _relative(rule, quotes, earlier_strikes)
    if index is None:
        return NoStrike("no index price for the underlying this tick: price rules cannot "
                        "be resolved (C2)")
    match rule:
        case AtmStrike():
            return closest_to(quotes, index)
        case SpotDistanceStrike():
            return closest_to(quotes, _moved(index, rule.distance, rule.unit))
        case StepsFromAtmStrike():
            return _steps_from(quotes, closest_to(quotes, index), rule.steps, "ATM")
    raise TypeError(f"unknown strike rule {rule!r}")


def closest_to(quotes: Sequence[OptionQuote], target: Decimal) -> OptionQuote:
    """The quote whose strike is closest to `target` (ties: the lower strike)."""
    return min(quotes, key=lambda q: (abs(q.instrument.strike - target), q.instrument.strike))


def _moved(base: Decimal, amount: Decimal, unit: MoveUnit | OffsetUnit) -> Decimal:
    if unit.value == "pct":
        return base * (1 + amount / _HUNDRED)
    return base + amount


def _by_delta(rule: DeltaStrike, quotes: Sequence[OptionQuote]) -> OptionQuote | NoStrike:
    target = float(rule.target)
    scored = [(abs(q.delta - target), q.instrument.strike, q) for q in quotes
              if q.delta is not None]
    if not scored:
        return NoStrike("no option of this expiry and kind carries a delta")
    distance, _, best = min(scored, key=lambda item: (item[0], item[1]))
    if rule.tolerance is not None and distance > float(rule.tolerance):
        return NoStrike(f"closest delta {best.delta:+.4f} ({best.symbol}) is more than "
                        f"{rule.tolerance} from the target {rule.target}")
    return best


def _steps_from(quotes: Sequence[OptionQuote], base: OptionQuote, steps: int,
                what: str) -> OptionQuote | NoStrike:
    position = quotes.index(base) + steps
    if not 0 <= position < len(quotes):
        return NoStrike(f"{steps:+d} strikes from {what} {base.instrument.strike} is past the "
                        f"listed strikes ({quotes[0].instrument.strike} to "
                        f"{quotes[-1].instrument.strike})")
    return quotes[position]


def _relative(rule: RelativeStrike, quotes: Sequence[OptionQuote],
              earlier_strikes: Mapping[int, Decimal]) -> OptionQuote | NoStrike:
    base = earlier_strikes.get(rule.leg)
    if base is None:
        return NoStrike(f"leg {rule.leg} is not resolved before this leg")
    if rule.unit is OffsetUnit.STEPS:
        return _steps_from(quotes, closest_to(quotes, base), int(rule.offset),
                           f"leg {rule.leg}'s strike")
    return closest_to(quotes, _moved(base, rule.offset, rule.unit))
