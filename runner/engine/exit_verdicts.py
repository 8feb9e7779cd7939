"""Each exit rule evaluated for one trade at one moment: its verdict, and its words later.

The rules' semantics are exits.py's (its module doc); this module holds their evaluators.
An evaluator returns a `Verdict`: (fired, words, args, skipped), where `words` is the text
or a function writing it from `args`. Nothing is formatted, and no ExitCheck made, until
someone asks: a holding tick evaluates every rule of every held trade, most never fire and
are never told, and writing (or even closing over) their figures was much of that tick
(issue 11 item 4). A function and its values cost less to keep than a closure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from runner.domain.instruments import parse_symbol
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeLeg
from runner.engine.exposure import (
    GreekReading,
    account_delta,
    held_greek,
    leg_greek,
    structure_greek,
    structure_reading,
    unpriced_positions,
)
from runner.engine.figures import trade_figures
from runner.engine.pnl import TradePnl, trade_pnl
from runner.engine.windows import cycle_window, next_time_of_day
from runner.strategy.model import (
    AccountDeltaExit,
    BeforeExpiryExit,
    DateTimeExit,
    Direction,
    EndOfCycleExit,
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

_HUNDRED = Decimal(100)
# Members read on every evaluation, as plain names (an Enum class's attribute lookup is
# slow, and a holding tick evaluates every rule of every trade).
_MARK, _DELTA, _ABOVE, _USD = PriceBasis.MARK, Greek.DELTA, Direction.ABOVE, MoveUnit.USD

Words = str | Callable[..., str]
Verdict = tuple[bool, Words, tuple[object, ...], bool]  # fired, words, their args, skipped


class RuleContext:
    """What every rule of one trade reads at one moment (a plain slotted class: made once
    per trade and call, so it is kept cheap)."""

    __slots__ = ("launch", "now", "snapshot", "spec", "trade")

    def __init__(self, spec: StrategySpec, trade: Trade, launch: datetime,
                 snapshot: MarketSnapshot, now: datetime) -> None:
        self.spec, self.trade, self.launch, self.snapshot, self.now = (spec, trade, launch,
                                                                        snapshot, now)


def nearest_expiry(trade: Trade) -> datetime | None:
    """The earliest expiry among the trade's legs (08:00 UTC on the symbol's date)."""
    nearest = None  # a plain loop: asked for every held trade on every tick
    for leg in trade.legs:
        expiry = parse_symbol(leg.symbol).expiry
        if nearest is None or expiry < nearest:
            nearest = expiry
    return nearest


def _skip(why: str) -> Verdict:
    return False, f"skipped: {why}", (), True


# -- PnL rules --------------------------------------------------------------------------
def _no_pnl(basis: PriceBasis, pnl: TradePnl | None) -> Verdict:
    if pnl is None:
        return _skip(f"a leg has no {basis.value} price this tick")
    return _skip("the entry cost is zero: no percentage")


def _pnl_words(ctx: RuleContext, pnl: TradePnl, threshold: str, value: Decimal) -> str:
    """The PnL on the rule's basis against its threshold, the mark PnL beside it (E1)."""
    beside = ""
    if pnl.basis is not _MARK:
        mark = trade_pnl(ctx.trade, ctx.snapshot, _MARK)
        beside = f"; {mark.describe()}" if mark is not None else "; no mark PnL this tick"
    return f"{pnl.describe()} {threshold.format(value)}{beside}"


def _profit_target(rule: ProfitTargetExit, ctx: RuleContext) -> Verdict:
    pnl = trade_pnl(ctx.trade, ctx.snapshot, rule.basis)
    pct = pnl.pct if pnl is not None else None
    if pnl is None or pct is None:
        return _no_pnl(rule.basis, pnl)
    return pct >= rule.pct, _pnl_words, (ctx, pnl, "vs target +{} %", rule.pct), False


def _max_loss_pct(rule: MaxLossPctExit, ctx: RuleContext) -> Verdict:
    pnl = trade_pnl(ctx.trade, ctx.snapshot, rule.basis)
    pct = pnl.pct if pnl is not None else None
    if pnl is None or pct is None:
        return _no_pnl(rule.basis, pnl)
    return pct <= -rule.pct, _pnl_words, (ctx, pnl, "vs stop -{} %", rule.pct), False


def _max_loss_usd(rule: MaxLossUsdExit, ctx: RuleContext) -> Verdict:
    pnl = trade_pnl(ctx.trade, ctx.snapshot, rule.basis)
    if pnl is None:
        return _no_pnl(rule.basis, pnl)
    return pnl.usd <= -rule.usd, _pnl_words, (ctx, pnl, "vs stop -{} USD", rule.usd), False


# -- time rules -------------------------------------------------------------------------
def _at_or_after(when: datetime, now: datetime, what: str, *values: object) -> Verdict:
    """Fires from `when` on; the words: `what` (a template of `values`) at `when`."""
    return now >= when, _moment_words, (when, what, values), False


def _moment_words(when: datetime, what: str, values: tuple[object, ...]) -> str:
    return f"{what.format(*values)} at {when.isoformat()}"


def _max_hold(rule: MaxHoldExit, ctx: RuleContext) -> Verdict:
    opened = ctx.trade.opened_at
    if opened is None:
        return _skip("the trade has not reached OPEN")
    held = ctx.now - opened
    return held >= rule.limit, "held {} of at most {}".format, (held, rule.limit), False


def _time_of_day(rule: TimeOfDayExit, ctx: RuleContext) -> Verdict:
    opened = ctx.trade.opened_at or ctx.trade.created_at
    return _at_or_after(next_time_of_day(rule.at, opened), ctx.now,
                        "first {:%H:%M} UTC after the open", rule.at)


def _date_time(rule: DateTimeExit, ctx: RuleContext) -> Verdict:
    return _at_or_after(rule.at, ctx.now, "exit")


def _end_of_cycle(rule: EndOfCycleExit, ctx: RuleContext) -> Verdict:
    schedule, cycle = ctx.spec.schedule, ctx.trade.cycle
    if schedule is None or cycle is None:
        return _skip("the trade was not opened in a schedule cycle")
    window = cycle_window(schedule, ctx.launch, cycle)
    if window is None:
        return _skip(f"cycle {cycle} is not part of this schedule")
    return _at_or_after(window.close_at, ctx.now, "cycle {} closes", cycle)


def _before_expiry(rule: BeforeExpiryExit, ctx: RuleContext) -> Verdict:
    expiry = nearest_expiry(ctx.trade)
    if expiry is None:
        return _skip("the trade has no legs")
    when = expiry - rule.before
    return ctx.now >= when, _before_words, (rule.before, expiry, when), False


def _before_words(before: timedelta, expiry: datetime, when: datetime) -> str:
    return f"{before} before the {expiry.isoformat()} expiry at {when.isoformat()}"


# -- market rules -----------------------------------------------------------------------
def _account_delta(rule: AccountDeltaExit, ctx: RuleContext) -> Verdict:
    if ctx.snapshot.positions is None:
        return _skip("account delta unknown: positions not read")
    reading = account_delta(ctx.snapshot)
    if reading is None:
        missing = ", ".join(unpriced_positions(ctx.snapshot))
        return _skip(f"account delta unknown: no chain delta for {missing}")
    return (abs(reading.value) > float(rule.limit), _account_words, (reading, rule.limit),
            False)


def _account_words(reading: GreekReading, limit: Decimal) -> str:
    return f"account delta {reading.value:+.4f} vs limit |delta| > {limit}{reading.beside()}"


def _structure_delta(rule: StructureDeltaExit, ctx: RuleContext) -> Verdict:
    value = structure_greek(ctx.trade, ctx.snapshot, _DELTA)
    if value is None:
        return _skip("a leg has no chain delta this tick")
    return abs(value) > float(rule.limit), _structure_words, (ctx, value, rule.limit), False


def _structure_words(ctx: RuleContext, value: float, limit: Decimal) -> str:
    reading = structure_reading(ctx.trade, ctx.snapshot, _DELTA)
    beside = reading.beside() if reading is not None else ""
    return f"structure delta {value:+.4f} vs limit |delta| > {limit}{beside}"


def _leg_greek(rule: LegGreekExit, ctx: RuleContext) -> Verdict:
    legs = trade_figures(ctx.trade).legs
    if rule.leg >= len(legs):
        return _skip(f"the trade has no leg {rule.leg}")
    value = held_greek(legs[rule.leg], ctx.snapshot, rule.greek)
    if value is None:
        return _skip(f"leg {rule.leg} has no chain {rule.greek.value} this tick")
    limit = float(rule.value)
    fired = value > limit if rule.direction is _ABOVE else value < limit
    return (fired, _leg_greek_words, (rule, ctx.trade.legs[rule.leg], ctx.snapshot, value, limit),
            False)


def _leg_greek_words(rule: LegGreekExit, leg: TradeLeg, snapshot: MarketSnapshot,
                     value: float, limit: float) -> str:
    told = leg_greek(leg, snapshot, rule.greek)
    beside = told.beside() if told is not None else ""
    return (f"leg {rule.leg} {rule.greek.value} {value:+.6f} (chain x qty) vs"
            f" {rule.direction.value} {limit}{beside}")


def _index_move(rule: IndexMoveExit, ctx: RuleContext) -> Verdict:
    entry = ctx.trade.index_at_entry
    index = ctx.snapshot.index_price(ctx.spec.underlying)
    if entry is None or index is None or entry <= 0:
        return _skip("no index price this tick, or none recorded at entry")
    move = abs(index - entry)
    in_usd = rule.unit is _USD
    size = move if in_usd else move / entry * _HUNDRED
    unit = "USD" if in_usd else "%"
    return (size >= rule.amount, "index {} vs {} at entry: moved {:.2f} {}, exit at {} {}".format,
            (index, entry, size, unit, rule.amount, unit), False)


# -- when the rules of the clock fire -----------------------------------------------------
def _max_hold_at(rule: MaxHoldExit, ctx: RuleContext) -> datetime | None:
    return ctx.trade.opened_at + rule.limit if ctx.trade.opened_at is not None else None


def _time_of_day_at(rule: TimeOfDayExit, ctx: RuleContext) -> datetime | None:
    return next_time_of_day(rule.at, ctx.trade.opened_at or ctx.trade.created_at)


def _end_of_cycle_at(rule: EndOfCycleExit, ctx: RuleContext) -> datetime | None:
    schedule, cycle = ctx.spec.schedule, ctx.trade.cycle
    if schedule is None or cycle is None:
        return None
    window = cycle_window(schedule, ctx.launch, cycle)
    return window.close_at if window is not None else None


def _before_expiry_at(rule: BeforeExpiryExit, ctx: RuleContext) -> datetime | None:
    expiry = nearest_expiry(ctx.trade)
    return expiry - rule.before if expiry is not None else None


# The moment each rule of the clock fires (exit_moments); kept beside their evaluators.
MOMENTS: dict[type, Callable[..., datetime | None]] = {
    MaxHoldExit: _max_hold_at,
    TimeOfDayExit: _time_of_day_at,
    DateTimeExit: lambda rule, _ctx: rule.at,
    EndOfCycleExit: _end_of_cycle_at,
    BeforeExpiryExit: _before_expiry_at,
}

# Rules that read prices, greeks or positions: evaluated at the strategy's check interval.
MARKET_RULES: tuple[type, ...] = (ProfitTargetExit, MaxLossPctExit, MaxLossUsdExit,
                                  AccountDeltaExit, StructureDeltaExit, LegGreekExit,
                                  IndexMoveExit)

EVALUATORS: dict[type, Callable[..., Verdict]] = {
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
