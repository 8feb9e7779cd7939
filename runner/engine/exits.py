"""Exit rules: does an open trade close now, and why.

Semantics: strategy-semantics.md "Exit conditions", model.ExitRule. Rules are evaluated
in declaration order; the first that fires wins and its `reason` is the trade's exit
reason (lessons E5). A rule whose data is missing this tick (no price on its basis, no
index, no greeks, positions not read, no cycle) is skipped: it never fires (E1).

Deliberate choices:
- PnL rules use their own basis (pnl.py); the mark PnL is reported beside it (E1).
- time_of_day fires at the first `at` strictly after the trade opened, so a trade opened
  after that time of day waits for the next day (fixes old-system b.1).
- end_of_cycle uses the cycle stored on the trade (the one it opened in).
- Delta and greek limits decide on chain greeks x signed quantity (exposure.py); the
  exchange's position greeks are only written beside them in the detail (issue 8, #8).
- index_move compares with `trade.index_at_entry`, on the strategy's underlying.
- Expiry is not a rule: `settles_at_expiry` tells decide that a leg has expired (G1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from runner.domain.instruments import parse_symbol
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade
from runner.engine.exposure import account_delta, leg_greek, structure_reading, unpriced_positions
from runner.engine.pnl import TradePnl, trade_pnl
from runner.engine.windows import cycle_window, next_time_of_day
from runner.strategy.model import (
    AccountDeltaExit,
    BeforeExpiryExit,
    DateTimeExit,
    Direction,
    EndOfCycleExit,
    ExitRule,
    Greek,
    IndexMoveExit,
    LegGreekExit,
    MaxHoldExit,
    MaxLossPctExit,
    MaxLossUsdExit,
    MoveUnit,
    PriceBasis,
    ProfitTargetExit,
    StrategySpec,
    StructureDeltaExit,
    TimeOfDayExit,
)

EXPIRY_REASON = "expiry"
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ExitCheck:
    reason: str  # the rule's reason, e.g. "max_loss"
    fired: bool
    detail: str
    skipped: bool = False  # data missing this tick: not evaluated, never fires


@dataclass(frozen=True, slots=True)
class _Context:
    spec: StrategySpec
    trade: Trade
    launch: datetime
    snapshot: MarketSnapshot
    now: datetime


def _skip(rule: ExitRule, why: str) -> ExitCheck:
    return ExitCheck(rule.reason, False, f"skipped: {why}", skipped=True)


def exit_checks(spec: StrategySpec, trade: Trade, launch: datetime, snapshot: MarketSnapshot,
                now: datetime) -> Iterator[ExitCheck]:
    """Every exit rule of `spec` evaluated for `trade`, in declaration order (lazily)."""
    context = _Context(spec, trade, launch, snapshot, now)
    for rule in spec.exits:
        yield _EVALUATORS[type(rule)](rule, context)


def first_exit(spec: StrategySpec, trade: Trade, launch: datetime, snapshot: MarketSnapshot,
               now: datetime) -> ExitCheck | None:
    """The first rule that fires (its reason is the exit reason), or None."""
    return next((c for c in exit_checks(spec, trade, launch, snapshot, now) if c.fired), None)


def nearest_expiry(trade: Trade) -> datetime | None:
    """The earliest expiry among the trade's legs (08:00 UTC on the symbol's date)."""
    return min((parse_symbol(leg.symbol).expiry for leg in trade.legs), default=None)


def settles_at_expiry(trade: Trade, now: datetime) -> bool:
    """Whether a leg of the trade has reached its expiry (lessons G1)."""
    expiry = nearest_expiry(trade)
    return expiry is not None and expiry <= now


# -- PnL rules --------------------------------------------------------------------------
def _pnl_rule(rule: ExitRule, basis: PriceBasis, ctx: _Context,
              judge: Callable[[TradePnl], tuple[bool, str] | None]) -> ExitCheck:
    pnl = trade_pnl(ctx.trade, ctx.snapshot, basis)
    if pnl is None:
        return _skip(rule, f"a leg has no {basis.value} price this tick")
    verdict = judge(pnl)
    if verdict is None:
        return _skip(rule, "the entry cost is zero: no percentage")
    fired, threshold = verdict
    beside = ""
    if basis is not PriceBasis.MARK:
        mark = trade_pnl(ctx.trade, ctx.snapshot, PriceBasis.MARK)
        beside = f"; {mark.describe()}" if mark is not None else "; no mark PnL this tick"
    return ExitCheck(rule.reason, fired, f"{pnl.describe()} {threshold}{beside}")


def _profit_target(rule: ProfitTargetExit, ctx: _Context) -> ExitCheck:
    def judge(pnl: TradePnl) -> tuple[bool, str] | None:
        pct = pnl.pct
        return None if pct is None else (pct >= rule.pct, f"vs target +{rule.pct} %")
    return _pnl_rule(rule, rule.basis, ctx, judge)


def _max_loss_pct(rule: MaxLossPctExit, ctx: _Context) -> ExitCheck:
    def judge(pnl: TradePnl) -> tuple[bool, str] | None:
        pct = pnl.pct
        return None if pct is None else (pct <= -rule.pct, f"vs stop -{rule.pct} %")
    return _pnl_rule(rule, rule.basis, ctx, judge)


def _max_loss_usd(rule: MaxLossUsdExit, ctx: _Context) -> ExitCheck:
    def judge(pnl: TradePnl) -> tuple[bool, str] | None:
        return pnl.usd <= -rule.usd, f"vs stop -{rule.usd} USD"
    return _pnl_rule(rule, rule.basis, ctx, judge)


# -- time rules -------------------------------------------------------------------------
def _at_or_after(rule: ExitRule, when: datetime, now: datetime, what: str) -> ExitCheck:
    return ExitCheck(rule.reason, now >= when, f"{what} at {when.isoformat()}")


def _max_hold(rule: MaxHoldExit, ctx: _Context) -> ExitCheck:
    opened = ctx.trade.opened_at
    if opened is None:
        return _skip(rule, "the trade has not reached OPEN")
    held = ctx.now - opened
    return ExitCheck(rule.reason, held >= rule.limit, f"held {held} of at most {rule.limit}")


def _time_of_day(rule: TimeOfDayExit, ctx: _Context) -> ExitCheck:
    opened = ctx.trade.opened_at or ctx.trade.created_at
    return _at_or_after(rule, next_time_of_day(rule.at, opened), ctx.now,
                        f"first {rule.at:%H:%M} UTC after the open")


def _date_time(rule: DateTimeExit, ctx: _Context) -> ExitCheck:
    return _at_or_after(rule, rule.at, ctx.now, "exit")


def _end_of_cycle(rule: EndOfCycleExit, ctx: _Context) -> ExitCheck:
    schedule, cycle = ctx.spec.schedule, ctx.trade.cycle
    if schedule is None or cycle is None:
        return _skip(rule, "the trade was not opened in a schedule cycle")
    window = cycle_window(schedule, ctx.launch, cycle)
    if window is None:
        return _skip(rule, f"cycle {cycle} is not part of this schedule")
    return _at_or_after(rule, window.close_at, ctx.now, f"cycle {cycle} closes")


def _before_expiry(rule: BeforeExpiryExit, ctx: _Context) -> ExitCheck:
    expiry = nearest_expiry(ctx.trade)
    if expiry is None:
        return _skip(rule, "the trade has no legs")
    return _at_or_after(rule, expiry - rule.before, ctx.now,
                        f"{rule.before} before the {expiry.isoformat()} expiry")


# -- market rules -----------------------------------------------------------------------
def _account_delta(rule: AccountDeltaExit, ctx: _Context) -> ExitCheck:
    if ctx.snapshot.positions is None:
        return _skip(rule, "account delta unknown: positions not read")
    reading = account_delta(ctx.snapshot)
    if reading is None:
        missing = ", ".join(unpriced_positions(ctx.snapshot))
        return _skip(rule, f"account delta unknown: no chain delta for {missing}")
    return ExitCheck(rule.reason, abs(reading.value) > float(rule.limit),
                     f"account delta {reading.value:+.4f} vs limit |delta| > {rule.limit}"
                     f"{reading.beside()}")


def _structure_delta(rule: StructureDeltaExit, ctx: _Context) -> ExitCheck:
    reading = structure_reading(ctx.trade, ctx.snapshot, Greek.DELTA)
    if reading is None:
        return _skip(rule, "a leg has no chain delta this tick")
    return ExitCheck(rule.reason, abs(reading.value) > float(rule.limit),
                     f"structure delta {reading.value:+.4f} vs limit |delta| > {rule.limit}"
                     f"{reading.beside()}")


def _leg_greek(rule: LegGreekExit, ctx: _Context) -> ExitCheck:
    if rule.leg >= len(ctx.trade.legs):
        return _skip(rule, f"the trade has no leg {rule.leg}")
    reading = leg_greek(ctx.trade.legs[rule.leg], ctx.snapshot, rule.greek)
    if reading is None:
        return _skip(rule, f"leg {rule.leg} has no chain {rule.greek.value} this tick")
    limit = float(rule.value)
    above = rule.direction is Direction.ABOVE
    fired = reading.value > limit if above else reading.value < limit
    return ExitCheck(rule.reason, fired, f"leg {rule.leg} {rule.greek.value} "
                     f"{reading.value:+.6f} (chain x qty) vs {rule.direction.value} {limit}"
                     f"{reading.beside()}")


def _index_move(rule: IndexMoveExit, ctx: _Context) -> ExitCheck:
    entry = ctx.trade.index_at_entry
    index = ctx.snapshot.index_price(ctx.spec.underlying)
    if entry is None or index is None or entry <= 0:
        return _skip(rule, "no index price this tick, or none recorded at entry")
    move = abs(index - entry)
    size = move if rule.unit is MoveUnit.USD else move / entry * _HUNDRED
    unit = "USD" if rule.unit is MoveUnit.USD else "%"
    return ExitCheck(rule.reason, size >= rule.amount,
                     f"index {index} vs {entry} at entry: moved {size:.2f} {unit}, "
                     f"exit at {rule.amount} {unit}")


_EVALUATORS: dict[type, Callable[..., ExitCheck]] = {
    ProfitTargetExit: _profit_target,
    MaxLossPctExit: _max_loss_pct,
    MaxLossUsdExit: _max_loss_usd,
    MaxHoldExit: _max_hold,
    TimeOfDayExit: _time_of_day,
    DateTimeExit: _date_time,
    EndOfCycleExit: _end_of_cycle,
    AccountDeltaExit: _account_delta,
    StructureDeltaExit: _structure_delta,
    LegGreekExit: _leg_greek,
    BeforeExpiryExit: _before_expiry,
    IndexMoveExit: _index_move,
}
