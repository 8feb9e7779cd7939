"""What a leg declares: the strike rule, the expiry rule, the leg and the structure it came from.

Part of the strategy model (`strategy.model` re-exports every name here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.strategy.vocabulary import ExpiryCycle, MoveUnit, OffsetUnit, StructureKind


@dataclass(frozen=True, slots=True)
class DeltaStrike:
    """The strike whose delta is closest to `target` (calls > 0, puts < 0).

    With a `tolerance`, only strikes with |delta - target| <= tolerance qualify; when
    none does, the leg cannot be resolved and the trade does not open.
    """

    target: Decimal
    tolerance: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AtmStrike:
    """The listed strike closest to the current underlying price."""


@dataclass(frozen=True, slots=True)
class SpotDistanceStrike:
    """The strike closest to spot + distance: `pct` gives spot x (1 + d/100), `usd` spot + d."""

    distance: Decimal
    unit: MoveUnit


@dataclass(frozen=True, slots=True)
class FixedStrike:
    """Exactly this strike; the leg fails to resolve when it is not listed."""

    strike: Decimal


@dataclass(frozen=True, slots=True)
class StepsFromAtmStrike:
    """The listed strike `steps` places above (> 0) or below (< 0) the ATM strike."""

    steps: int


@dataclass(frozen=True, slots=True)
class RelativeStrike:
    """The strike closest to an earlier leg's resolved strike plus an offset.

    `leg` is a 0-based index into `StrategySpec.legs` and is always smaller than the
    index of the leg carrying this rule (the engine resolves legs in order).
    """

    leg: int
    offset: Decimal
    unit: OffsetUnit


StrikeRule = (
    DeltaStrike | AtmStrike | SpotDistanceStrike | FixedStrike | StepsFromAtmStrike
    | RelativeStrike
)


@dataclass(frozen=True, slots=True)
class DteExpiry:
    """Among expiries whose day lies in [today + min_days, today + max_days] (days from
    00:00 UTC today), the one closest to noon UTC of day today + days."""

    days: int
    min_days: int
    max_days: int


@dataclass(frozen=True, slots=True)
class NextExpiry:
    """The nearest expiry that has not expired yet."""


@dataclass(frozen=True, slots=True)
class DaysWindowExpiry:
    """Expiries between now + min_days and now + max_days; the one closest to the middle."""

    min_days: int
    max_days: int


@dataclass(frozen=True, slots=True)
class CycleExpiry:
    """The nearest weekly / monthly / quarterly expiry at least `min_days` away."""

    cycle: ExpiryCycle
    min_days: int = 0


@dataclass(frozen=True, slots=True)
class FixedExpiry:
    """The expiry dated `day` (08:00 UTC that day)."""

    day: date


ExpiryRule = DteExpiry | NextExpiry | DaysWindowExpiry | CycleExpiry | FixedExpiry


@dataclass(frozen=True, slots=True)
class StructureOrigin:
    """Where an expanded leg came from: the shorthand and the leg's role in it."""

    kind: StructureKind
    role: str  # e.g. "call", "put", "inner_call", "outer_put", "lower", "body", "upper"


@dataclass(frozen=True, slots=True)
class LegSpec:
    kind: OptionKind
    side: Side
    qty: Decimal
    strike: StrikeRule
    expiry: ExpiryRule
    underlying: Underlying = Underlying.BTC
    origin: StructureOrigin | None = None

    @property
    def sign(self) -> int:
        """+1 for a long leg, -1 for a short leg."""
        return self.side.sign


@dataclass(frozen=True, slots=True)
class StructureSpec:
    """The shorthand as written (for display); its legs are already in `StrategySpec.legs`."""

    kind: StructureKind
    side: Side
    qty: Decimal
    expiry: ExpiryRule
