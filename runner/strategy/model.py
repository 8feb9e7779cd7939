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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Final

from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.strategy.origin import SpecOrigin

SCHEMA_VERSION: Final = 1
NOTIONAL_DEFINITION: Final = "sum over the legs of strike x quantity, in USD"
DEFAULT_RFQ_MIN_NOTIONAL_USD: Final = Decimal(50000)


# --- vocabularies -----------------------------------------------------------------


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Python's `date.weekday()` number: Monday 0 ... Sunday 6."""
        return list(Weekday).index(self)


class PriceBasis(StrEnum):
    """How a PnL rule prices the legs (lessons E1)."""

    MARK = "mark"
    MID = "mid"
    FAIR = "fair"  # mark if inside bid/ask, else mid, with one-sided fallbacks
    EXECUTABLE = "executable"  # bid for longs, ask for shorts


class PriceReference(StrEnum):
    """What a limit-order phase prices from."""

    MID = "mid"
    MARK = "mark"
    FAIR = "fair"
    TOP_OF_BOOK = "top_of_book"  # join our own side: best bid for a buy, best ask for a sell
    AGGRESSIVE = "aggressive"  # cross: best ask for a buy, best bid for a sell


class Greek(StrEnum):
    DELTA = "delta"
    GAMMA = "gamma"
    VEGA = "vega"
    THETA = "theta"


class Direction(StrEnum):
    ABOVE = "above"
    BELOW = "below"


class MoveUnit(StrEnum):
    USD = "usd"
    PCT = "pct"


class OffsetUnit(StrEnum):
    USD = "usd"
    PCT = "pct"
    STEPS = "steps"  # listed strikes


class ExpiryCycle(StrEnum):
    WEEKLY = "weekly"  # Friday expiries
    MONTHLY = "monthly"  # the last Friday expiry of a month
    QUARTERLY = "quarterly"  # the last Friday expiry of March, June, September, December


class StructureKind(StrEnum):
    STRANGLE = "strangle"
    STRADDLE = "straddle"
    IRON_CONDOR = "iron_condor"
    BUTTERFLY = "butterfly"


# --- legs ---------------------------------------------------------------------------


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


# --- entry ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeWindowCondition:
    """UTC time of day in [start, end); wraps past midnight when end <= start."""

    start: time
    end: time

    @property
    def wraps_midnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True, slots=True)
class UtcWindowCondition:
    """start <= now < end (aware UTC)."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class WeekdaysCondition:
    days: frozenset[Weekday]


@dataclass(frozen=True, slots=True)
class MinAvailableMarginCondition:
    """equity > 0 and available margin / equity x 100 >= pct."""

    pct: Decimal


@dataclass(frozen=True, slots=True)
class MinEquityCondition:
    usd: Decimal


@dataclass(frozen=True, slots=True)
class MaxAccountDeltaCondition:
    """abs(account net delta) <= limit."""

    limit: Decimal


@dataclass(frozen=True, slots=True)
class MaxMarginUtilisationCondition:
    """initial margin / equity x 100 <= pct."""

    pct: Decimal


@dataclass(frozen=True, slots=True)
class NoExistingPositionCondition:
    """The account holds none of `symbols`; an empty tuple means the instruments this
    trade would open (its resolved legs)."""

    symbols: tuple[str, ...] = ()

    @property
    def is_own_instruments(self) -> bool:
        return not self.symbols


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[EntryCondition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[EntryCondition, ...]


EntryCondition = (
    TimeWindowCondition | UtcWindowCondition | WeekdaysCondition
    | MinAvailableMarginCondition | MinEquityCondition | MaxAccountDeltaCondition
    | MaxMarginUtilisationCondition | NoExistingPositionCondition | AllOf | AnyOf
)


# --- timing and schedules ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimingSpec:
    """Entry gates, checked in this order: concurrent trades, cooldown, trades per day,
    attempts per day, then the entry conditions. `None` = unlimited.

    Trades count opens that reached OPEN or beyond; attempts count every trade created,
    failed ones included (lessons I3). Days are UTC calendar days.
    """

    check_interval: timedelta = timedelta(seconds=60)
    cooldown: timedelta = timedelta(0)
    max_concurrent_trades: int = 1
    max_trades_per_day: int | None = 1
    max_attempts_per_day: int | None = 10


@dataclass(frozen=True, slots=True)
class CycleWindow:
    """One scheduled cycle: entries allowed in [open_start, open_end); `end_of_cycle`
    exits fire at close_at."""

    index: int
    open_start: datetime
    open_end: datetime
    close_at: datetime

    def is_open(self, now: datetime) -> bool:
        return self.open_start <= now < self.open_end


@dataclass(frozen=True, slots=True)
class CycleSchedule:
    """`count` cycles relative to the launch time T: cycle k opens at
    T + first_open_after + k x (close_after + gap), its open window lasts `open_window`,
    it closes at open start + close_after, then `gap` until the next open."""

    first_open_after: timedelta
    open_window: timedelta
    close_after: timedelta
    gap: timedelta
    count: int
    trades_per_cycle: int = 1

    @property
    def period(self) -> timedelta:
        return self.close_after + self.gap

    def windows(self, launch: datetime) -> tuple[CycleWindow, ...]:
        """Every cycle of a run launched at `launch` (aware UTC)."""
        first = launch + self.first_open_after
        return tuple(
            CycleWindow(k, start, start + self.open_window, start + self.close_after)
            for k in range(self.count)
            for start in (first + k * self.period,)
        )


@dataclass(frozen=True, slots=True)
class DailySchedule:
    """One cycle per UTC day: entries in [open_at, open_at + open_window); the cycle
    closes at close_at, on the same day or the next one when close_at <= open_at."""

    open_at: time
    open_window: timedelta
    close_at: time
    trades_per_cycle: int = 1

    def window_on(self, day: date) -> CycleWindow:
        """The cycle whose open window starts on `day` (UTC)."""
        start = datetime.combine(day, self.open_at.replace(tzinfo=UTC))
        close = datetime.combine(day, self.close_at.replace(tzinfo=UTC))
        if close <= start:
            close += timedelta(days=1)
        return CycleWindow(day.toordinal(), start, start + self.open_window, close)

    def windows_around(self, now: datetime) -> tuple[CycleWindow, CycleWindow]:
        """Yesterday's and today's cycles (UTC): the ones `now` may still be inside."""
        today = now.astimezone(UTC).date()
        return self.window_on(today - timedelta(days=1)), self.window_on(today)


Schedule = CycleSchedule | DailySchedule


# --- execution ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceGuards:
    """Limits shared by every limit-order variant (lessons B10-B12).

    open_sell_floor_pct_of_fair: an opening sell is never priced below fair x pct/100
    (the close ignores it). min_floor_price: sells never go below it; buys never price
    at zero. reprice_threshold_pct: a requote whose price moved less than this (relative)
    is skipped.
    """

    open_sell_floor_pct_of_fair: Decimal | None = None
    min_floor_price: Decimal | None = None
    reprice_threshold_pct: Decimal = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class LimitExecution:
    """Aggressive limit orders: buy at ask x (1 + buffer%), sell at bid / (1 + buffer%);
    after each fill timeout cancel the unfilled rest and re-place it at a fresh price,
    at most `requote_rounds` times."""

    fill_timeout: timedelta = timedelta(seconds=30)
    requote_rounds: int = 10
    aggressive_buffer_pct: Decimal = Decimal(2)
    guards: PriceGuards = PriceGuards()
    profile: str | None = None  # the profile it came from, for display


@dataclass(frozen=True, slots=True)
class Phase:
    """One pricing phase: price from `reference` moved by `offset_pct` (positive = more
    aggressive: a buy pays more, a sell asks less), requote every `requote_interval`,
    for `duration`. Within a phase a reprice never moves against us (lessons B9)."""

    duration: timedelta
    requote_interval: timedelta
    reference: PriceReference
    offset_pct: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class PhasedLimitExecution:
    """Limit orders walked through `phases` in order, passive to aggressive; the open
    fails (and unwinds) when the last phase ends unfilled."""

    phases: tuple[Phase, ...]
    guards: PriceGuards = PriceGuards()
    profile: str | None = None

    @property
    def total_duration(self) -> timedelta:
        return sum((phase.duration for phase in self.phases), timedelta(0))


LimitLike = LimitExecution | PhasedLimitExecution


@dataclass(frozen=True, slots=True)
class RfqExecution:
    """Block trade as taker. Accept the best quote whose improvement over the orderbook
    (book - quote) / |book| x 100 is >= min_improvement_pct before `timeout`; otherwise
    cancel and use `fallback` (None = fail). `action`: buy or sell the structure on
    open (None = as the legs say); a close reverses it."""

    timeout: timedelta = timedelta(minutes=5)
    min_improvement_pct: Decimal = Decimal(0)
    fallback: LimitLike | None = LimitExecution()
    min_notional_usd: Decimal = DEFAULT_RFQ_MIN_NOTIONAL_USD
    action: Side | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class AutoExecution:
    """RFQ when the trade's notional (strike x qty summed over legs) reaches
    rfq.min_notional_usd, else `limit` (lessons I4)."""

    rfq: RfqExecution
    limit: LimitLike
    profile: str | None = None


ExecutionSpec = LimitExecution | PhasedLimitExecution | RfqExecution | AutoExecution


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """How a trade opens and how it closes; profiles are already resolved."""

    open: ExecutionSpec
    close: ExecutionSpec


# --- exits ----------------------------------------------------------------------------
# Any one exit closes the whole trade; the first that fires wins and its `reason` is
# recorded. PnL = sum over the legs; percentages are of abs(entry premium).


@dataclass(frozen=True, slots=True)
class ProfitTargetExit:
    pct: Decimal
    basis: PriceBasis = PriceBasis.EXECUTABLE
    reason: ClassVar[str] = "profit_target"


@dataclass(frozen=True, slots=True)
class MaxLossPctExit:
    pct: Decimal
    basis: PriceBasis = PriceBasis.FAIR  # lessons E2
    reason: ClassVar[str] = "max_loss"


@dataclass(frozen=True, slots=True)
class MaxLossUsdExit:
    usd: Decimal
    basis: PriceBasis = PriceBasis.FAIR
    reason: ClassVar[str] = "max_loss"


@dataclass(frozen=True, slots=True)
class MaxHoldExit:
    """Time since the trade reached OPEN (every leg filled) >= limit."""

    limit: timedelta
    reason: ClassVar[str] = "max_hold"


@dataclass(frozen=True, slots=True)
class TimeOfDayExit:
    """Fires at the first `at` (UTC time of day) after the trade opened: a trade opened
    at 20:00 with `at` 19:00 closes at 19:00 the next day, not at once."""

    at: time
    reason: ClassVar[str] = "time_of_day"


@dataclass(frozen=True, slots=True)
class DateTimeExit:
    at: datetime
    reason: ClassVar[str] = "at_datetime"


@dataclass(frozen=True, slots=True)
class EndOfCycleExit:
    """The schedule cycle the trade opened in has reached its close time."""

    reason: ClassVar[str] = "end_of_cycle"


@dataclass(frozen=True, slots=True)
class AccountDeltaExit:
    """abs(account net delta) > limit."""

    limit: Decimal
    reason: ClassVar[str] = "account_delta_limit"


@dataclass(frozen=True, slots=True)
class StructureDeltaExit:
    """abs(sum of the trade's position deltas) > limit."""

    limit: Decimal
    reason: ClassVar[str] = "structure_delta_limit"


@dataclass(frozen=True, slots=True)
class LegGreekExit:
    """The greek of leg `leg` (0-based; chain greek x signed open qty) crosses `value`."""

    leg: int
    greek: Greek
    direction: Direction
    value: Decimal
    reason: ClassVar[str] = "leg_greek_limit"


@dataclass(frozen=True, slots=True)
class BeforeExpiryExit:
    """now >= nearest leg expiry (08:00 UTC) - before."""

    before: timedelta
    reason: ClassVar[str] = "before_expiry"


@dataclass(frozen=True, slots=True)
class IndexMoveExit:
    """abs(index now - index at OPEN) >= amount (USD), or >= amount % of the entry index
    (lessons E7)."""

    amount: Decimal
    unit: MoveUnit
    reason: ClassVar[str] = "index_move"


ExitRule = (
    ProfitTargetExit | MaxLossPctExit | MaxLossUsdExit | MaxHoldExit | TimeOfDayExit
    | DateTimeExit | EndOfCycleExit | AccountDeltaExit | StructureDeltaExit | LegGreekExit
    | BeforeExpiryExit | IndexMoveExit
)


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
