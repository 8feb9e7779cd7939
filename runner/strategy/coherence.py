"""Checks on a built strategy: does the whole make sense as a trade?

Signs of deltas, legs referring to earlier legs, lot sizes, schedules that fit, exits
that can fire, RFQ notional that can reach the exchange minimum, and the warnings the
live history asks for (A8 no quota, E2 executable stop on short-dated sells, B13 RFQ
close without a limit fallback).

Plausible prices (for warnings only; the engine always uses live prices): strikes
near the index, BTC 60,000-120,000 USD, ETH 2,000-5,000 USD. Notional = strike x qty
summed over the legs (`model.NOTIONAL_DEFINITION`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Final

from runner.domain.instruments import DEFAULT_LOT, OptionKind, Underlying
from runner.domain.orders import Side
from runner.strategy.diagnostics import Diagnostic, Severity, format_where
from runner.strategy.load import Document, Path_
from runner.strategy.model import (
    AutoExecution,
    CycleExpiry,
    CycleSchedule,
    DailySchedule,
    DateTimeExit,
    DaysWindowExpiry,
    DeltaStrike,
    DteExpiry,
    EndOfCycleExit,
    ExecutionSpec,
    ExpiryCycle,
    ExpiryRule,
    FixedStrike,
    Greek,
    LegGreekExit,
    LegSpec,
    MaxLossPctExit,
    MaxLossUsdExit,
    MoveUnit,
    NextExpiry,
    PriceBasis,
    RelativeStrike,
    RfqExecution,
    SpotDistanceStrike,
    StrategySpec,
    StructureDeltaExit,
    TimeOfDayExit,
    TimeWindowCondition,
    UtcWindowCondition,
)

PLAUSIBLE_SPOT: Final = {
    Underlying.BTC: (Decimal(60000), Decimal(120000)),
    Underlying.ETH: (Decimal(2000), Decimal(5000)),
}
SHORT_DTE_DAYS: Final = 7
_ANY_DAY: Final = date(2026, 1, 5)
_WARNING: Final = Severity.WARNING


class _Checker:
    def __init__(self, spec: StrategySpec, document: Document) -> None:
        self.spec = spec
        self.document = document

    def report(self, path: Path_, what: str, fix: str,
               severity: Severity = Severity.ERROR) -> Diagnostic:
        line, col = self.document.positions.of_value(path)
        return Diagnostic(self.document.path, line, col, severity, format_where(path), what, fix)

    def leg_path(self, index: int, *rest: str) -> Path_:
        if self.spec.structure is not None:
            return ("structure",)
        return ("legs", index, *rest)

    def exit_path(self, rule: object) -> Path_:
        return ("exits", self.spec.exits.index(rule))  # type: ignore[arg-type]


def check_spec(spec: StrategySpec, document: Document) -> list[Diagnostic]:
    checker = _Checker(spec, document)
    found: list[Diagnostic] = []
    for check in (_legs, _schedule, _exits, _rfq, _quotas, _risk):
        found.extend(item for item in check(checker) if item not in found)
    return found


def _legs(checker: _Checker) -> Iterator[Diagnostic]:
    for index, leg in enumerate(checker.spec.legs):
        strike = leg.strike
        if isinstance(strike, DeltaStrike):
            yield from _delta_sign(checker, index, leg, strike)
        if isinstance(strike, RelativeStrike):
            if strike.leg >= index:
                yield checker.report(checker.leg_path(index, "strike", "from_leg"),
                                     f"from_leg {strike.leg} is not an earlier leg",
                                     f"refer to a leg listed before this one (0..{index - 1})")
            elif strike.offset == 0:
                yield checker.report(checker.leg_path(index, "strike"), "the offset is zero",
                                     "use a non-zero offset, or the same strike rule",
                                     _WARNING)
        if leg.qty % DEFAULT_LOT != 0:
            yield checker.report(checker.leg_path(index, "qty"),
                                 f"quantity {leg.qty} is not a multiple of the lot {DEFAULT_LOT}",
                                 f"round it to {DEFAULT_LOT} steps")


def _delta_sign(checker: _Checker, index: int, leg: LegSpec,
                strike: DeltaStrike) -> Iterator[Diagnostic]:
    wanted_positive = leg.kind is OptionKind.CALL
    if strike.target == 0 or (strike.target > 0) != wanted_positive:
        sign = "positive" if wanted_positive else "negative"
        role = leg.origin.role if leg.origin else leg.kind.value
        path = (("structure", *_role_path(role), "delta") if leg.origin
                else ("legs", index, "strike", "delta"))
        fix = f"write {-strike.target}" if strike.target else f"write a {sign} value"
        yield checker.report(path, f"a {leg.kind.value} delta must be {sign}, got "
                             f"{strike.target}", fix)


def _role_path(role: str) -> Path_:
    return {"call": ("call",), "put": ("put",), "inner_call": ("call",),
            "inner_put": ("put",)}.get(role, ("wings",))


def _schedule(checker: _Checker) -> Iterator[Diagnostic]:
    schedule = checker.spec.schedule
    if isinstance(schedule, CycleSchedule):
        if schedule.open_window > schedule.close_after:
            yield checker.report(("schedule", "open_window"), "the open window lasts past the "
                                 "cycle's close", "make open_window at most close_after")
    elif isinstance(schedule, DailySchedule):
        window = schedule.window_on(_ANY_DAY)
        if window.open_end > window.close_at:
            yield checker.report(("schedule", "open_window"), "the open window lasts past "
                                 "close_at", "shorten open_window or move close_at later")
    has_cycle_exit = any(isinstance(rule, EndOfCycleExit) for rule in checker.spec.exits)
    if schedule is None and has_cycle_exit:
        rule = next(r for r in checker.spec.exits if isinstance(r, EndOfCycleExit))
        yield checker.report(checker.exit_path(rule), "end_of_cycle needs a schedule",
                             "add a 'schedule:' or use another exit")
    if schedule is not None and not has_cycle_exit:
        yield checker.report(("schedule",), "no exit closes the trade at the end of the cycle",
                             "add '- end_of_cycle: true' to exits if that is intended",
                             _WARNING)


def _exits(checker: _Checker) -> Iterator[Diagnostic]:
    spec = checker.spec
    windows = [c for c in spec.entry.conditions if isinstance(c, TimeWindowCondition)]
    starts = [c.start for c in spec.entry.conditions if isinstance(c, UtcWindowCondition)]
    for rule in spec.exits:
        path = checker.exit_path(rule)
        if isinstance(rule, TimeOfDayExit) and any(_inside(w, rule) for w in windows):
            yield checker.report(path, "the exit time falls inside the entry time window",
                                 "a trade opened just before it closes at once and one opened "
                                 "after it is held a day; move the exit or the window",
                                 _WARNING)
        if isinstance(rule, DateTimeExit) and any(rule.at <= start for start in starts):
            yield checker.report(path, "the exit date-time is not after the entry window opens",
                                 "move the exit after the utc_window start")
        if isinstance(rule, LegGreekExit) and rule.leg >= len(spec.legs):
            yield checker.report((*path, "leg_greek_limit", "leg"),
                                 f"there is no leg {rule.leg}",
                                 f"use a leg index from 0 to {len(spec.legs) - 1}")
        if isinstance(rule, StructureDeltaExit):
            total = sum((leg.qty for leg in spec.legs), Decimal(0))
            if rule.limit >= total:
                yield checker.report(path, f"the structure's delta can never exceed {total} "
                                     "(its total quantity)", "lower the limit", _WARNING)
        if isinstance(rule, LegGreekExit) and rule.leg < len(spec.legs):
            leg = spec.legs[rule.leg]
            if rule.greek is Greek.DELTA and abs(rule.value) >= leg.qty and (
                    (rule.value > 0) == (rule.direction.value == "above")):
                yield checker.report(path, f"a leg of {leg.qty} can never reach delta "
                                     f"{rule.value}", "use a value within the leg's quantity",
                                     _WARNING)
        if isinstance(rule, MaxLossPctExit | MaxLossUsdExit):
            yield from _executable_stop(checker, rule, path)


def _inside(window: TimeWindowCondition, rule: TimeOfDayExit) -> bool:
    if window.wraps_midnight:
        return rule.at >= window.start or rule.at < window.end
    return window.start < rule.at < window.end


def _is_short_dated(expiry: ExpiryRule) -> bool:
    if isinstance(expiry, DteExpiry):
        return expiry.max_days <= SHORT_DTE_DAYS
    if isinstance(expiry, DaysWindowExpiry):
        return expiry.max_days <= SHORT_DTE_DAYS
    if isinstance(expiry, CycleExpiry):
        return expiry.cycle is ExpiryCycle.WEEKLY
    return isinstance(expiry, NextExpiry)


def _executable_stop(checker: _Checker, rule: MaxLossPctExit | MaxLossUsdExit,
                     path: Path_) -> Iterator[Diagnostic]:
    if rule.basis is not PriceBasis.EXECUTABLE:
        return
    if any(leg.side is Side.SELL and _is_short_dated(leg.expiry) for leg in checker.spec.legs):
        yield checker.report(path, "an executable-price stop loss on short-dated sold options "
                             "fires on wide spreads right after opening (lessons E2)",
                             "use basis fair or mark", _WARNING)


def _rfq_parts(spec: ExecutionSpec) -> RfqExecution | None:
    if isinstance(spec, RfqExecution):
        return spec
    return None


def notional_range(spec: StrategySpec) -> tuple[Decimal, Decimal]:
    """(lowest, highest) plausible notional of one trade, strike x qty over the legs."""
    low_spot, high_spot = PLAUSIBLE_SPOT[spec.underlying]
    low = high = Decimal(0)
    for leg in spec.legs:
        if isinstance(leg.strike, FixedStrike):
            low += leg.strike.strike * leg.qty
            high += leg.strike.strike * leg.qty
            continue
        factor = Decimal(1)
        if isinstance(leg.strike, SpotDistanceStrike) and leg.strike.unit is MoveUnit.PCT:
            factor += leg.strike.distance / 100
        low += low_spot * factor * leg.qty
        high += high_spot * factor * leg.qty
    return low, high


def _rfq(checker: _Checker) -> Iterator[Diagnostic]:
    spec = checker.spec
    _, high = notional_range(spec)
    plan = (("open", spec.execution.open), ("close", spec.execution.close))
    execution = checker.document.data["execution"]
    for key, step in plan:
        path = ("execution", key if key in execution else "open")
        rfq = _rfq_parts(step)
        if rfq is not None and high < rfq.min_notional_usd:
            yield checker.report(path, f"the trade's notional stays below the RFQ minimum "
                                 f"{rfq.min_notional_usd:,} USD (about {high:,.0f} USD even at a "
                                 f"high {spec.underlying.value} price)",
                                 "raise the quantity or use mode auto or limit", _WARNING)
        if key == "close" and ((rfq is not None and rfq.fallback is None)
                               or (isinstance(step, AutoExecution) and step.rfq.fallback is None)):
            yield checker.report(path, "an RFQ close has no limit fallback (lessons B13)",
                                 "set 'fallback: limit' so the trade can always be closed")


def _quotas(checker: _Checker) -> Iterator[Diagnostic]:
    timing = checker.spec.timing
    if timing.max_trades_per_day is None and not timing.cooldown:
        yield checker.report(("timing",), "no daily trade limit and no cooldown: the strategy "
                             "may re-open right after each close (lessons A8)",
                             "set max_trades_per_day or a cooldown", _WARNING)
    attempts, trades = timing.max_attempts_per_day, timing.max_trades_per_day
    if attempts is not None and trades is not None and attempts < trades:
        yield checker.report(("timing",), "max_attempts_per_day is below max_trades_per_day, so "
                             "the trade limit can never be reached",
                             "raise max_attempts_per_day", _WARNING)


def _risk(checker: _Checker) -> Iterator[Diagnostic]:
    risk = checker.spec.risk
    low, _ = notional_range(checker.spec)
    per_trade, per_strategy = risk.max_notional_per_trade_usd, risk.max_notional_per_strategy_usd
    if per_trade is not None and low > per_trade:
        yield checker.report(("risk", "max_notional_per_trade_usd"),
                             f"a trade's notional is at least about {low:,.0f} USD, above this "
                             "limit, so no trade would ever open",
                             "raise the limit or lower the quantity", _WARNING)
    if per_trade is not None and per_strategy is not None and per_strategy < per_trade:
        yield checker.report(("risk", "max_notional_per_strategy_usd"),
                             "the strategy limit is below the per-trade limit",
                             "make it at least max_notional_per_trade_usd", _WARNING)


