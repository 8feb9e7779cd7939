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
- Rules that read the market (PnL, greeks, delta, index move: `MARKET_RULES`) are
  evaluated at the strategy's check interval; rules of the clock (max_hold, time_of_day,
  date_time, end_of_cycle, before_expiry) on every call, so they fire at their moment
  whatever the cadence (`exit_checks(..., market=False)` leaves the market rules out).
  Decisions then depend on the strategy's own cadence, never on how often the service
  ticks, and an accelerated simulation may step from one moment that matters to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from runner.domain.instruments import parse_symbol
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade
from runner.engine.exposure import (
    account_delta,
    leg_greek,
    leg_greek_value,
    structure_greek,
    structure_reading,
    unpriced_positions,
)
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
    # The words, or how to say them: written only when asked for (most checks do not
    # fire and are never told; formatting them was most of a holding tick, issue 11).
    explain: str | Callable[[], str]
    skipped: bool = False  # data missing this tick: not evaluated, never fires

    @property
    def detail(self) -> str:
        return self.explain if isinstance(self.explain, str) else self.explain()


class _Context:
    """What every rule of one trade reads at one moment (a plain slotted class: made once
    per trade and call, so it is kept cheap)."""

    __slots__ = ("launch", "now", "snapshot", "spec", "trade")

    def __init__(self, spec: StrategySpec, trade: Trade, launch: datetime,
                 snapshot: MarketSnapshot, now: datetime) -> None:
        self.spec, self.trade, self.launch, self.snapshot, self.now = (spec, trade, launch,
                                                                        snapshot, now)


# What a rule's evaluator finds: (fired, its words or how to write them, skipped). The
# ExitCheck is made from it only when it is asked for: `first_exit` makes one for the rule
# that fires, not one per rule evaluated (a holding tick evaluates every rule of every
# trade and most never fire, issue 11 item 4).
_Verdict = tuple[bool, str | Callable[[], str], bool]


def _skip(why: str) -> _Verdict:
    return False, f"skipped: {why}", True


def exit_checks(spec: StrategySpec, trade: Trade, launch: datetime, snapshot: MarketSnapshot,
                now: datetime, *, market: bool = True) -> Iterator[ExitCheck]:
    """Every exit rule of `spec` evaluated for `trade`, in declaration order (lazily);
    without `market`, only the rules of the clock (the check interval has not elapsed)."""
    context = _Context(spec, trade, launch, snapshot, now)
    for rule, evaluator in exit_plan(spec.exits, market=market):
        fired, explain, skipped = evaluator(rule, context)
        yield ExitCheck(rule.reason, fired, explain, skipped)


_Plan = tuple[tuple[ExitRule, Callable[..., _Verdict]], ...]
# Each list of rules' plan, by the list's identity (the list is kept beside its plan, so
# an id is never reused while its entry lives); bounded, since specs are reloaded.
_PLANS: dict[tuple[int, bool], tuple[tuple[ExitRule, ...], _Plan]] = {}
_MAX_PLANS = 1024


def exit_plan(rules: tuple[ExitRule, ...], *, market: bool = True) -> _Plan:
    """The rules to evaluate, in declaration order, each with its evaluator; without
    `market`, only the rules of the clock. Worked out once per list of rules, not on
    every call (a holding tick evaluates every strategy's exits, issue 11 item 4)."""
    key = (id(rules), market)
    found = _PLANS.get(key)
    if found is None or found[0] is not rules:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = tuple((rule, _EVALUATORS[type(rule)]) for rule in rules
                     if market or not isinstance(rule, MARKET_RULES))
        found = _PLANS[key] = (rules, plan)
    return found[1]


def first_exit(spec: StrategySpec, trade: Trade, launch: datetime, snapshot: MarketSnapshot,
               now: datetime, *, market: bool = True) -> ExitCheck | None:
    """The first rule that fires (its reason is the exit reason), or None."""
    context = _Context(spec, trade, launch, snapshot, now)
    for rule, evaluator in exit_plan(spec.exits, market=market):
        fired, explain, skipped = evaluator(rule, context)
        if fired:
            return ExitCheck(rule.reason, fired, explain, skipped)
    return None


def nearest_expiry(trade: Trade) -> datetime | None:
    """The earliest expiry among the trade's legs (08:00 UTC on the symbol's date)."""
    return min((parse_symbol(leg.symbol).expiry for leg in trade.legs), default=None)


def settles_at_expiry(trade: Trade, now: datetime) -> bool:
    """Whether a leg of the trade has reached its expiry (lessons G1)."""
    expiry = nearest_expiry(trade)
    return expiry is not None and expiry <= now


def exit_moments(spec: StrategySpec, trade: Trade, launch: datetime) -> tuple[datetime, ...]:
    """When the rules of the clock fire for `trade` (the market rules have no moment)."""
    context = _Context(spec, trade, launch, MarketSnapshot(at=launch), launch)
    found = (_MOMENTS[type(rule)](rule, context) for rule in spec.exits
             if type(rule) in _MOMENTS)
    return tuple(moment for moment in found if moment is not None)


# -- PnL rules --------------------------------------------------------------------------
def _pnl_rule(rule: ExitRule, basis: PriceBasis, ctx: _Context,
              judge: Callable[[TradePnl], tuple[bool, str] | None]) -> _Verdict:
    pnl = trade_pnl(ctx.trade, ctx.snapshot, basis)
    if pnl is None:
        return _skip(f"a leg has no {basis.value} price this tick")
    verdict = judge(pnl)
    if verdict is None:
        return _skip("the entry cost is zero: no percentage")
    fired, threshold = verdict

    def explain() -> str:
        beside = ""
        if basis is not PriceBasis.MARK:
            mark = trade_pnl(ctx.trade, ctx.snapshot, PriceBasis.MARK)
            beside = f"; {mark.describe()}" if mark is not None else "; no mark PnL this tick"
        return f"{pnl.describe()} {threshold}{beside}"
    return fired, explain, False


def _profit_target(rule: ProfitTargetExit, ctx: _Context) -> _Verdict:
    def judge(pnl: TradePnl) -> tuple[bool, str] | None:
        pct = pnl.pct
        return None if pct is None else (pct >= rule.pct, f"vs target +{rule.pct} %")
    return _pnl_rule(rule, rule.basis, ctx, judge)


def _max_loss_pct(rule: MaxLossPctExit, ctx: _Context) -> _Verdict:
    def judge(pnl: TradePnl) -> tuple[bool, str] | None:
        pct = pnl.pct
        return None if pct is None else (pct <= -rule.pct, f"vs stop -{rule.pct} %")
    return _pnl_rule(rule, rule.basis, ctx, judge)


def _max_loss_usd(rule: MaxLossUsdExit, ctx: _Context) -> _Verdict:
    def judge(pnl: TradePnl) -> tuple[bool, str] | None:
        return pnl.usd <= -rule.usd, f"vs stop -{rule.usd} USD"
    return _pnl_rule(rule, rule.basis, ctx, judge)


# -- time rules -------------------------------------------------------------------------
def _at_or_after(rule: ExitRule, when: datetime, now: datetime,
                 what: Callable[[], str]) -> _Verdict:
    """Fires from `when` on; `what` words the moment, only when the check is told."""
    return now >= when, lambda: f"{what()} at {when.isoformat()}", False


def _max_hold(rule: MaxHoldExit, ctx: _Context) -> _Verdict:
    opened = ctx.trade.opened_at
    if opened is None:
        return _skip("the trade has not reached OPEN")
    held = ctx.now - opened
    return held >= rule.limit, lambda: f"held {held} of at most {rule.limit}", False


def _time_of_day(rule: TimeOfDayExit, ctx: _Context) -> _Verdict:
    opened = ctx.trade.opened_at or ctx.trade.created_at
    return _at_or_after(rule, next_time_of_day(rule.at, opened), ctx.now,
                        lambda: f"first {rule.at:%H:%M} UTC after the open")


def _date_time(rule: DateTimeExit, ctx: _Context) -> _Verdict:
    return _at_or_after(rule, rule.at, ctx.now, lambda: "exit")


def _end_of_cycle(rule: EndOfCycleExit, ctx: _Context) -> _Verdict:
    schedule, cycle = ctx.spec.schedule, ctx.trade.cycle
    if schedule is None or cycle is None:
        return _skip("the trade was not opened in a schedule cycle")
    window = cycle_window(schedule, ctx.launch, cycle)
    if window is None:
        return _skip(f"cycle {cycle} is not part of this schedule")
    return _at_or_after(rule, window.close_at, ctx.now, lambda: f"cycle {cycle} closes")


def _before_expiry(rule: BeforeExpiryExit, ctx: _Context) -> _Verdict:
    expiry = nearest_expiry(ctx.trade)
    if expiry is None:
        return _skip("the trade has no legs")
    return _at_or_after(rule, expiry - rule.before, ctx.now,
                        lambda: f"{rule.before} before the {expiry.isoformat()} expiry")


# -- market rules -----------------------------------------------------------------------
def _account_delta(rule: AccountDeltaExit, ctx: _Context) -> _Verdict:
    if ctx.snapshot.positions is None:
        return _skip("account delta unknown: positions not read")
    reading = account_delta(ctx.snapshot)
    if reading is None:
        missing = ", ".join(unpriced_positions(ctx.snapshot))
        return _skip(f"account delta unknown: no chain delta for {missing}")
    return (abs(reading.value) > float(rule.limit),
            lambda: f"account delta {reading.value:+.4f} vs limit |delta| > {rule.limit}"
                    f"{reading.beside()}", False)


def _structure_delta(rule: StructureDeltaExit, ctx: _Context) -> _Verdict:
    value = structure_greek(ctx.trade, ctx.snapshot, Greek.DELTA)
    if value is None:
        return _skip("a leg has no chain delta this tick")

    def explain() -> str:
        reading = structure_reading(ctx.trade, ctx.snapshot, Greek.DELTA)
        beside = reading.beside() if reading is not None else ""
        return f"structure delta {value:+.4f} vs limit |delta| > {rule.limit}{beside}"
    return abs(value) > float(rule.limit), explain, False


def _leg_greek(rule: LegGreekExit, ctx: _Context) -> _Verdict:
    if rule.leg >= len(ctx.trade.legs):
        return _skip(f"the trade has no leg {rule.leg}")
    leg = ctx.trade.legs[rule.leg]
    value = leg_greek_value(leg, ctx.snapshot, rule.greek)
    if value is None:
        return _skip(f"leg {rule.leg} has no chain {rule.greek.value} this tick")
    limit = float(rule.value)
    above = rule.direction is Direction.ABOVE
    fired = value > limit if above else value < limit

    def explain() -> str:
        told = leg_greek(leg, ctx.snapshot, rule.greek)
        beside = told.beside() if told is not None else ""
        return (f"leg {rule.leg} {rule.greek.value} {value:+.6f} (chain x qty) vs"
                f" {rule.direction.value} {limit}{beside}")
    return fired, explain, False


def _index_move(rule: IndexMoveExit, ctx: _Context) -> _Verdict:
    entry = ctx.trade.index_at_entry
    index = ctx.snapshot.index_price(ctx.spec.underlying)
    if entry is None or index is None or entry <= 0:
        return _skip("no index price this tick, or none recorded at entry")
    move = abs(index - entry)
    size = move if rule.unit is MoveUnit.USD else move / entry * _HUNDRED
    unit = "USD" if rule.unit is MoveUnit.USD else "%"
    return (size >= rule.amount,
            lambda: f"index {index} vs {entry} at entry: moved {size:.2f} {unit}, "
                    f"exit at {rule.amount} {unit}", False)


def _max_hold_at(rule: MaxHoldExit, ctx: _Context) -> datetime | None:
    return ctx.trade.opened_at + rule.limit if ctx.trade.opened_at is not None else None


def _time_of_day_at(rule: TimeOfDayExit, ctx: _Context) -> datetime | None:
    return next_time_of_day(rule.at, ctx.trade.opened_at or ctx.trade.created_at)


def _end_of_cycle_at(rule: EndOfCycleExit, ctx: _Context) -> datetime | None:
    schedule, cycle = ctx.spec.schedule, ctx.trade.cycle
    if schedule is None or cycle is None:
        return None
    window = cycle_window(schedule, ctx.launch, cycle)
    return window.close_at if window is not None else None


def _before_expiry_at(rule: BeforeExpiryExit, ctx: _Context) -> datetime | None:
    expiry = nearest_expiry(ctx.trade)
    return expiry - rule.before if expiry is not None else None


# The moment each rule of the clock fires (exit_moments); kept beside their evaluators.
_MOMENTS: dict[type, Callable[..., datetime | None]] = {
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

_EVALUATORS: dict[type, Callable[..., _Verdict]] = {
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
