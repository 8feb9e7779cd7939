"""The exit screen over a stretch of checks: can a rule fire at any of them?

The exit screen (exit_screen.py) looks at one check at a time. Over a stretch of checks
in which the venue does nothing (sim/exit_figures.py `exit_bounds`), it can also ask
once: given the lowest and highest index the quotes show at those checks and the bounds
of each held option's mark, bid, ask and delta over them (sim/quote_bounds.py), could
any rule fire at any of them? The PnL, delta and index of a trade are then intervals,
and a rule whose interval stays clear of its threshold (by the same margin as a single
check's) cannot fire in the stretch. When one could, or a rule cannot be bounded (a
leg's gamma, vega or theta), the checks are looked at one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from runner.domain.instruments import Underlying
from runner.sim.quote_bounds import FigureBounds
from runner.strategy.model import (
    Direction,
    ExitRule,
    Greek,
    IndexMoveExit,
    LegGreekExit,
    MaxLossPctExit,
    MaxLossUsdExit,
    MoveUnit,
    PriceBasis,
    ProfitTargetExit,
    StructureDeltaExit,
)

Bounds = dict[str, FigureBounds]
Ranges = dict[Underlying, tuple[float, float]]
Span = tuple[float, float]

_RELATIVE = 1e-9
_INDEX_ROUNDING = 0.01


class HeldPlan(Protocol):
    """What a box screen reads of a held trade (exit_screen's plan)."""

    legs: tuple[tuple[str, int, float, float], ...] | None
    pct_cost: float | None
    greeks: tuple[tuple[str | None, float], ...]
    index_entry: float | None


class CannotBound(Exception):
    """A leg has no bounds: the stretch is looked at check by check."""


BoxScreen = Callable[[HeldPlan, Bounds, Ranges], bool]  # True: may fire in the stretch


def _bounds(bounds: Bounds, symbol: str) -> FigureBounds:
    found = bounds.get(symbol)
    if found is None:
        raise CannotBound
    return found


def _price(basis: PriceBasis, leg: FigureBounds, sign: int) -> Span:
    """A leg's price in cents on `basis` over the stretch (an empty side only ever
    keeps a rule from firing, so the sides' bounds hold for every basis)."""
    if basis is PriceBasis.MARK:
        return leg.mark
    if basis is PriceBasis.EXECUTABLE:
        return leg.bid if sign > 0 else leg.ask
    if basis is PriceBasis.MID:
        return (leg.bid[0] + leg.ask[0]) / 2, (leg.bid[1] + leg.ask[1]) / 2
    if basis is PriceBasis.FAIR:  # the mark, the mid or one side
        return min(leg.mark[0], leg.bid[0]), max(leg.mark[1], leg.ask[1])
    raise CannotBound


def _pnl(plan: HeldPlan, basis: PriceBasis, bounds: Bounds) -> tuple[Span, float] | None:
    """(lowest, highest PnL in cents, error margin); None: the rule is skipped."""
    if plan.legs is None:
        return None
    low = high = scale = 0.0
    for symbol, sign, held, entry in plan.legs:
        price_low, price_high = _price(basis, _bounds(bounds, symbol), sign)
        if sign > 0:
            low += (price_low - entry) * held
            high += (price_high - entry) * held
        else:
            low += (entry - price_high) * held
            high += (entry - price_low) * held
        scale += (abs(price_low) + abs(price_high) + abs(entry)) * held
    return (low, high), _RELATIVE * (scale + 1.0)


def _pct_box(basis: PriceBasis, pct: float, profit: bool) -> BoxScreen:
    def screen(plan: HeldPlan, bounds: Bounds, _ranges: Ranges) -> bool:
        found = _pnl(plan, basis, bounds)
        cost = plan.pct_cost
        if found is None or cost is None:
            return False
        (low, high), error = found
        low, high = low / cost * 100, high / cost * 100
        margin = error / cost * 100 + _RELATIVE * (abs(low) + abs(high) + pct + 1.0)
        return high >= pct - margin if profit else low <= -pct + margin
    return screen


def _usd_box(basis: PriceBasis, usd: float) -> BoxScreen:
    limit = usd * 100

    def screen(plan: HeldPlan, bounds: Bounds, _ranges: Ranges) -> bool:
        found = _pnl(plan, basis, bounds)
        if found is None:
            return False
        (low, _), error = found
        return low <= -limit + error + _RELATIVE * limit
    return screen


def _delta(symbol: str | None, weight: float, bounds: Bounds) -> Span:
    if symbol is None:
        return 0.0, 0.0
    low, high = _bounds(bounds, symbol).delta
    return (weight * low, weight * high) if weight >= 0 else (weight * high, weight * low)


def _structure_delta_box(limit: float) -> BoxScreen:
    def screen(plan: HeldPlan, bounds: Bounds, _ranges: Ranges) -> bool:
        low = high = 0.0
        for symbol, weight in plan.greeks:
            leg_low, leg_high = _delta(symbol, weight, bounds)
            low += leg_low
            high += leg_high
        largest = max(abs(low), abs(high))
        return largest > limit - _RELATIVE * (largest + limit + 1.0)
    return screen


def _leg_delta_box(leg: int, above: bool, limit: float) -> BoxScreen:
    def screen(plan: HeldPlan, bounds: Bounds, _ranges: Ranges) -> bool:
        if leg >= len(plan.greeks):
            return False
        low, high = _delta(*plan.greeks[leg], bounds)
        margin = _RELATIVE * (abs(low) + abs(high) + abs(limit) + 1.0)
        return high > limit - margin if above else low < limit + margin
    return screen


def _index_box(underlying: Underlying, amount: float, in_usd: bool) -> BoxScreen:
    def screen(plan: HeldPlan, _bounds: Bounds, ranges: Ranges) -> bool:
        entry = plan.index_entry
        if entry is None:
            return False
        found = ranges.get(underlying)
        if found is None:
            raise CannotBound
        low, high = found
        threshold = amount if in_usd else amount * entry / 100
        margin = _INDEX_ROUNDING + _RELATIVE * (high + threshold)
        return max(high - entry, entry - low) >= threshold - margin
    return screen


def box_screen(rule: ExitRule, underlying: Underlying) -> BoxScreen | None:
    """The stretch screen of one market rule; None when it has none."""
    if isinstance(rule, ProfitTargetExit | MaxLossPctExit):
        return _pct_box(rule.basis, float(rule.pct), isinstance(rule, ProfitTargetExit))
    if isinstance(rule, MaxLossUsdExit):
        return _usd_box(rule.basis, float(rule.usd))
    if isinstance(rule, StructureDeltaExit):
        return _structure_delta_box(float(rule.limit))
    if isinstance(rule, LegGreekExit) and rule.greek is Greek.DELTA:
        return _leg_delta_box(rule.leg, rule.direction is Direction.ABOVE, float(rule.value))
    if isinstance(rule, IndexMoveExit):
        return _index_box(underlying, float(rule.amount), rule.unit is MoveUnit.USD)
    return None


def none_may_fire(screened: Sequence[tuple[Sequence[BoxScreen | None], HeldPlan]],
                  bounds: Bounds, ranges: Ranges) -> bool:
    """True only when no box screen of any plan may fire (and every rule has one)."""
    try:
        for screens, plan in screened:
            for screen in screens:
                if screen is None or screen(plan, bounds, ranges):
                    return False
    except CannotBound:
        return False
    return True
