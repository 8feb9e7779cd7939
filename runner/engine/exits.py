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

from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade
from runner.engine.exit_verdicts import (
    EVALUATORS,
    MARKET_RULES,
    MOMENTS,
    RuleContext,
    Verdict,
    Words,
    nearest_expiry,
)
from runner.strategy.model import ExitRule, StrategySpec

__all__ = ["EXPIRY_REASON", "MARKET_RULES", "ExitCheck", "exit_checks", "exit_moments",
           "exit_plan", "first_exit", "nearest_expiry", "settles_at_expiry"]

EXPIRY_REASON = "expiry"


@dataclass(frozen=True, slots=True)
class ExitCheck:
    reason: str  # the rule's reason, e.g. "max_loss"
    fired: bool
    # The words, or a function writing them from `args`: written only when asked for (most
    # checks do not fire and are never told; formatting them was most of a holding tick,
    # issue 11). The function is pure.
    explain: Words
    skipped: bool = False  # data missing this tick: not evaluated, never fires
    args: tuple[object, ...] = ()

    @property
    def detail(self) -> str:
        explain = self.explain
        return explain if isinstance(explain, str) else explain(*self.args)


def exit_checks(spec: StrategySpec, trade: Trade, launch: datetime, snapshot: MarketSnapshot,
                now: datetime, *, market: bool = True) -> Iterator[ExitCheck]:
    """Every exit rule of `spec` evaluated for `trade`, in declaration order (lazily);
    without `market`, only the rules of the clock (the check interval has not elapsed)."""
    context = RuleContext(spec, trade, launch, snapshot, now)
    for rule, evaluator in exit_plan(spec.exits, market=market):
        fired, words, args, skipped = evaluator(rule, context)
        yield ExitCheck(rule.reason, fired, words, skipped, args)


def first_exit(spec: StrategySpec, trade: Trade, launch: datetime, snapshot: MarketSnapshot,
               now: datetime, *, market: bool = True) -> ExitCheck | None:
    """The first rule that fires (its reason is the exit reason), or None. Only that rule's
    ExitCheck is made (exit_verdicts.py)."""
    context = RuleContext(spec, trade, launch, snapshot, now)
    for rule, evaluator in exit_plan(spec.exits, market=market):
        fired, words, args, skipped = evaluator(rule, context)
        if fired:
            return ExitCheck(rule.reason, fired, words, skipped, args)
    return None


_Plan = tuple[tuple[ExitRule, Callable[..., Verdict]], ...]
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
        plan = tuple((rule, EVALUATORS[type(rule)]) for rule in rules
                     if market or not isinstance(rule, MARKET_RULES))
        found = _PLANS[key] = (rules, plan)
    return found[1]


def settles_at_expiry(trade: Trade, now: datetime) -> bool:
    """Whether a leg of the trade has reached its expiry (lessons G1)."""
    expiry = nearest_expiry(trade)
    return expiry is not None and expiry <= now


def exit_moments(spec: StrategySpec, trade: Trade, launch: datetime) -> tuple[datetime, ...]:
    """When the rules of the clock fire for `trade` (the market rules have no moment)."""
    context = RuleContext(spec, trade, launch, MarketSnapshot(at=launch), launch)
    found = (MOMENTS[type(rule)](rule, context) for rule in spec.exits
             if type(rule) in MOMENTS)
    return tuple(moment for moment in found if moment is not None)
