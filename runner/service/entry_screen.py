"""The entry screen: proving, over a stretch of entry checks, that no strike fits the legs.

Over a year of the example book most ticks were entry checks of a strategy holding
nothing at which its legs cannot be resolved: no strike within the delta tolerance of
the daily strangle for many minutes, the condor's wings past the listed strikes for a
whole window. Each was a whole tick (issue 12). This screen proves such a stretch
at once from what the engine's strike rules would read at each check (engine/
selection.py, strikes.py), bounded over the stretch by the simulated venue
(sim/entry_bounds.py): the listed expiries, and the lowest and highest delta each option
of the chosen expiry and kind can show at any of the checks. It never reads through the
service and never decides: when it proves that some leg fails at every check, no check
of the stretch can open anything (the strategy holds nothing, so it has nothing to close
either), and the stepping passes over them (entry_stretch.py).

What it can prove (each with a margin far above float rounding, as the exit screen):
- a leg by delta with a tolerance: every option of the expiry has its delta bounded
  outside [target - tolerance, target + tolerance] ("outside the delta tolerance");
- a wing `steps` strikes from a leg chosen by delta, on the same underlying, kind and
  expiry rule: that leg's strike (the least distance to its target, first on ties) is
  among the strikes from which `steps` more is past the listed ones, at every check (an
  upper bound of the least distance among them below a lower bound of every other);
- a leg whose expiry rule fits no listed expiry.
Whatever it cannot tell is left to the ticks: other strike rules, an expiry rule whose
choice may move within the stretch (a `days` window; a stretch across midnight UTC or an
expiry), an option too close to expiry, a venue that would do anything before the last
check (sim/entry_bounds.py). Any leg failing is enough: legs resolve in order and the
first that fails is the reason, so a proven failure of a later leg means the legs fail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from runner.domain.instruments import OptionKind, Underlying
from runner.engine.expiries import choose_expiry
from runner.strategy.model import (
    CycleExpiry,
    DeltaStrike,
    DteExpiry,
    ExpiryRule,
    FixedExpiry,
    LegSpec,
    NextExpiry,
    OffsetUnit,
    RelativeStrike,
    StrategySpec,
)

# Margin on every comparison of distances: the deltas' bounds are already widened by
# 1e-9 (quote_bounds.py); a distance this close to deciding is left to the tick.
_MARGIN = 1e-9
# Rules whose choice depends on the moment only through its UTC day and the expiries
# still ahead: the same for every check of one day between two expiries.
_DAILY_RULES = (DteExpiry, NextExpiry, CycleExpiry, FixedExpiry)
_FIRST_SPAN = 4  # checks
_LONGEST_SPAN = 256
_MAX_CACHED = 256

Deltas = tuple[tuple[float, float], ...]


@runtime_checkable
class EntryBoundSource(Protocol):
    """A venue that bounds what leg selection reads over future moments (SimVenue)."""

    def entry_expiries(self, underlying: Underlying, moments: Sequence[datetime]
                       ) -> tuple[datetime, ...] | None:
        ...

    def entry_deltas(self, underlying: Underlying, expiry: datetime, is_call: bool,
                     moments: Sequence[datetime]) -> Deltas | None:
        ...


@dataclass(frozen=True, slots=True)
class LegProof:
    """A leg whose failure may be proven from the deltas of one delta leg's ladder:
    `tolerance` set: that leg's own tolerance; else a wing `steps` from it."""

    underlying: Underlying
    kind: OptionKind
    expiry: ExpiryRule
    target: float
    tolerance: float | None = None
    steps: int = 0

    def fails(self, deltas: Deltas) -> bool:
        """Whether the leg fails at every moment the bounds cover."""
        if not deltas:
            return False
        target = self.target
        if self.tolerance is not None:
            limit = self.tolerance + _MARGIN
            return all(low - target > limit or target - high > limit for low, high in deltas)
        count = len(deltas)
        past = range(max(0, count - self.steps), count) if self.steps > 0 else range(
            min(count, -self.steps))
        if len(past) == count:
            return True  # every strike is too near the end
        if not past:
            return False
        nearest = min(max(high - target, target - low) for low, high in
                      (deltas[i] for i in past))
        others = min(max(0.0, low - target, target - high)
                     for i, (low, high) in enumerate(deltas) if i not in past)
        return nearest + _MARGIN < others


def leg_proofs(spec: StrategySpec) -> tuple[LegProof, ...]:
    """The legs of `spec` whose failure the screen may prove, in leg order."""
    proofs = []
    for index, leg in enumerate(spec.legs):
        rule = leg.strike
        if isinstance(rule, DeltaStrike) and rule.tolerance is not None:
            proofs.append(_proof(leg, rule, tolerance=float(rule.tolerance)))
        elif isinstance(rule, RelativeStrike) and rule.unit is OffsetUnit.STEPS \
                and 0 <= rule.leg < index and rule.offset == int(rule.offset) != 0:
            base = spec.legs[rule.leg]
            if isinstance(base.strike, DeltaStrike) and (base.kind, base.underlying,
                                                         base.expiry) == (
                    leg.kind, leg.underlying, leg.expiry):
                proofs.append(_proof(base, base.strike, steps=int(rule.offset)))
    return tuple(proofs)


def _proof(leg: LegSpec, rule: DeltaStrike, *, tolerance: float | None = None,
           steps: int = 0) -> LegProof:
    return LegProof(leg.underlying, leg.kind, leg.expiry, float(rule.target), tolerance, steps)


class EntryScreen:
    """Counts the leading entry checks of a strategy at which its legs provably fail."""

    def __init__(self, source: EntryBoundSource) -> None:
        self._source = source
        self._proofs: dict[int, tuple[StrategySpec, tuple[LegProof, ...]]] = {}
        self._spans: dict[str, int] = {}
        self.passed = 0  # checks passed over (figures for benchmarks)
        self.stretches = 0  # stretches asked about

    def can_screen(self, spec: StrategySpec) -> bool:
        return bool(self._spec_proofs(spec))

    def failing(self, spec: StrategySpec, first: Callable[[int], Sequence[datetime]]) -> int:
        """How many of the strategy's next checks, from the first, are proven to fail their
        legs; `first(n)` gives its first n checks (fewer when there are no more; ascending,
        in the future, of one UTC day). Asked about stretches of them at once, growing
        while they are proven, a quarter as long after one that is not, down to one."""
        proofs = self._spec_proofs(spec)
        if not proofs:
            return 0
        proven, span = 0, self._spans.get(spec.name, _FIRST_SPAN)
        while True:
            stretch = first(proven + span)[proven:]
            if not stretch:
                break
            self.stretches += 1
            if self._fails_throughout(proofs, stretch):
                proven += len(stretch)
                span = min(2 * span, _LONGEST_SPAN)
            elif len(stretch) == 1:
                break
            else:
                span = max(1, len(stretch) // 4)
        self._spans[spec.name] = max(_FIRST_SPAN, span)
        self.passed += proven
        return proven

    def _fails_throughout(self, proofs: tuple[LegProof, ...],
                          moments: Sequence[datetime]) -> bool:
        expiries: dict[Underlying, tuple[datetime, ...] | None] = {}
        for proof in proofs:
            if proof.underlying not in expiries:
                expiries[proof.underlying] = self._source.entry_expiries(proof.underlying,
                                                                         moments)
            listed = expiries[proof.underlying]
            if not listed:
                continue
            chosen = _chosen(proof.expiry, listed, moments)
            if chosen is None:
                return True  # no listed expiry fits the rule at any of them
            if chosen is _UNKNOWN:
                continue
            deltas = self._source.entry_deltas(proof.underlying, chosen,
                                               proof.kind is OptionKind.CALL, moments)
            if deltas is not None and proof.fails(deltas):
                return True
        return False

    def _spec_proofs(self, spec: StrategySpec) -> tuple[LegProof, ...]:
        found = self._proofs.get(id(spec))
        if found is None or found[0] is not spec:
            if len(self._proofs) >= _MAX_CACHED:
                self._proofs.clear()
            found = self._proofs[id(spec)] = (spec, leg_proofs(spec))
        return found[1]


_UNKNOWN = datetime.min.replace(tzinfo=UTC)  # the choice may move within the stretch


def _chosen(rule: ExpiryRule, listed: tuple[datetime, ...],
            moments: Sequence[datetime]) -> datetime | None:
    """The expiry the rule picks at every one of the moments (None: none fits), or
    `_UNKNOWN` when that choice may not be the same at all of them."""
    first, last = moments[0], moments[-1]
    if not isinstance(rule, _DAILY_RULES) or first.astimezone(UTC).date() != last.astimezone(
            UTC).date() or any(first < expiry <= last for expiry in listed):
        return _UNKNOWN
    return choose_expiry(rule, tuple(e for e in listed if e > first), first)
