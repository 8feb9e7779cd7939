"""The strategy model: what a strategy file declares, as frozen, typed values.

This module owns the shape every other package reads. A `StrategySpec` is built only
by `runner.strategy.load_strategies`, after the JSON Schema and the semantic checks have
passed, so every value here is already valid: deltas carry their sign, windows end
after they start, profile references are resolved, structures are expanded to legs.

Deliberate choices:
- Data only. Evaluating a condition or an exit is the engine's job; the only methods
  here are trivial derived values and the pure schedule arithmetic (cycle windows),
  which is part of what the YAML *means*.
- One dataclass per variant, unions as type aliases; the engine dispatches with
  `match`/`isinstance`. No raw dicts, no strings where an enum fits.
- Decimal for money, quantities, prices and thresholds written by the trader (they
  compare against Decimal snapshot values); timedelta for durations; aware UTC
  datetimes; `time` values are UTC times of day.
- "Unlimited" is `None`, never 0.
- Notional (risk limits, RFQ minimum, `auto` routing; lessons I4) is defined once:
  the sum over the legs of strike x quantity, in USD. See `NOTIONAL_DEFINITION`.

This module holds the whole strategy (`StrategySpec`, `RiskSpec`) and re-exports its parts,
each in its own module: `vocabulary` (enums, constants), `leg_rules` (strikes, expiries,
legs), `entry_rules` (entry conditions), `schedules` (timing, cycles), `execution_rules`
(limit, phased, RFQ, auto) and `exit_rules`. Import from here or from the part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from runner.domain.instruments import Underlying
from runner.strategy.entry_rules import (
    AllOf,
    AnyOf,
    EntryCondition,
    MaxAccountDeltaCondition,
    MaxMarginUtilisationCondition,
    MinAvailableMarginCondition,
    MinEquityCondition,
    NoExistingPositionCondition,
    TimeWindowCondition,
    UtcWindowCondition,
    WeekdaysCondition,
)
from runner.strategy.execution_rules import (
    AutoExecution,
    ExecutionPlan,
    ExecutionSpec,
    LimitExecution,
    LimitLike,
    Phase,
    PhasedLimitExecution,
    PriceGuards,
    RfqExecution,
)
from runner.strategy.exit_rules import (
    AccountDeltaExit,
    BeforeExpiryExit,
    DateTimeExit,
    EndOfCycleExit,
    ExitRule,
    IndexMoveExit,
    LegGreekExit,
    MaxHoldExit,
    MaxLossPctExit,
    MaxLossUsdExit,
    ProfitTargetExit,
    StructureDeltaExit,
    TimeOfDayExit,
)
from runner.strategy.leg_rules import (
    AtmStrike,
    CycleExpiry,
    DaysWindowExpiry,
    DeltaStrike,
    DteExpiry,
    ExpiryRule,
    FixedExpiry,
    FixedStrike,
    LegSpec,
    NextExpiry,
    RelativeStrike,
    SpotDistanceStrike,
    StepsFromAtmStrike,
    StrikeRule,
    StructureOrigin,
    StructureSpec,
)
from runner.strategy.origin import SpecOrigin
from runner.strategy.schedules import (
    CycleSchedule,
    CycleWindow,
    DailySchedule,
    Schedule,
    TimingSpec,
)
from runner.strategy.vocabulary import (
    DEFAULT_RFQ_MIN_NOTIONAL_USD,
    NOTIONAL_DEFINITION,
    SCHEMA_VERSION,
    Direction,
    ExpiryCycle,
    Greek,
    MoveUnit,
    OffsetUnit,
    PriceBasis,
    PriceReference,
    StructureKind,
    Weekday,
)

__all__ = [
    "DEFAULT_RFQ_MIN_NOTIONAL_USD",
    "NOTIONAL_DEFINITION",
    "SCHEMA_VERSION",
    "AccountDeltaExit",
    "AllOf",
    "AnyOf",
    "AtmStrike",
    "AutoExecution",
    "BeforeExpiryExit",
    "CycleExpiry",
    "CycleSchedule",
    "CycleWindow",
    "DailySchedule",
    "DateTimeExit",
    "DaysWindowExpiry",
    "DeltaStrike",
    "Direction",
    "DteExpiry",
    "EndOfCycleExit",
    "EntryCondition",
    "ExecutionPlan",
    "ExecutionSpec",
    "ExitRule",
    "ExpiryCycle",
    "ExpiryRule",
    "FixedExpiry",
    "FixedStrike",
    "Greek",
    "IndexMoveExit",
    "LegGreekExit",
    "LegSpec",
    "LimitExecution",
    "LimitLike",
    "MaxAccountDeltaCondition",
    "MaxHoldExit",
    "MaxLossPctExit",
    "MaxLossUsdExit",
    "MaxMarginUtilisationCondition",
    "MinAvailableMarginCondition",
    "MinEquityCondition",
    "MoveUnit",
    "NextExpiry",
    "NoExistingPositionCondition",
    "OffsetUnit",
    "Phase",
    "PhasedLimitExecution",
    "PriceBasis",
    "PriceGuards",
    "PriceReference",
    "ProfitTargetExit",
    "RelativeStrike",
    "RfqExecution",
    "RiskSpec",
    "Schedule",
    "SpotDistanceStrike",
    "StepsFromAtmStrike",
    "StrategySpec",
    "StrikeRule",
    "StructureDeltaExit",
    "StructureKind",
    "StructureOrigin",
    "StructureSpec",
    "TimeOfDayExit",
    "TimeWindowCondition",
    "TimingSpec",
    "UtcWindowCondition",
    "Weekday",
    "WeekdaysCondition",
]

# --- risk and the whole strategy ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskSpec:
    """Notional = sum over the legs of strike x quantity (USD). None = no limit.

    per_trade: a trade whose resolved legs exceed it does not open. per_strategy: the
    sum over this strategy's open trades plus the new one must stay within it.
    """

    max_notional_per_trade_usd: Decimal | None = None
    max_notional_per_strategy_usd: Decimal | None = None


@dataclass(frozen=True, slots=True)
class StrategySpec:
    name: str
    description: str
    enabled: bool
    underlying: Underlying
    source: Path
    legs: tuple[LegSpec, ...]
    entry: AllOf
    timing: TimingSpec
    schedule: Schedule | None
    execution: ExecutionPlan
    exits: tuple[ExitRule, ...]
    risk: RiskSpec
    structure: StructureSpec | None = None
    version: int = SCHEMA_VERSION
    # The documents it was built from (None when built in code): stored with every trade
    # it opens, so the trade keeps these rules whatever later happens to the file.
    origin: SpecOrigin | None = field(default=None, compare=False, repr=False)

    @property
    def is_scheduled(self) -> bool:
        return self.schedule is not None

    def exits_of(self, kind: type) -> tuple[ExitRule, ...]:
        """The exits of one rule type, in declaration order."""
        return tuple(rule for rule in self.exits if isinstance(rule, kind))
