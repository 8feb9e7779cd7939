"""How a strategy executes: limit (with price guards), phased limit, RFQ, auto routing, and
the open/close plan.

Part of the strategy model (`strategy.model` re-exports every name here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from runner.domain.orders import Side
from runner.strategy.vocabulary import DEFAULT_RFQ_MIN_NOTIONAL_USD, PriceReference


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
