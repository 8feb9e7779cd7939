"""The next moment a strategy's decision can change: where an accelerated simulation steps.

A decision (decide.py) can only come out differently:
- at the strategy's checks (its check interval): entry is evaluated and the exit rules
  that read the market;
- at the moments of the exit rules of the clock (max_hold, time_of_day, date_time,
  end_of_cycle, before_expiry) and at a leg's expiry (settlement).
Between two such moments a tick decides nothing new for the strategy, so a simulation
that skips those ticks makes the same trades as one that ticks every second (issue 12).

Deliberate choices:
- Checks keep the strategy's grid (last check + k x check_interval), exactly where a loop
  ticking every second meets them: jumping ahead never shifts the cadence.
- A check only matters for entry when the gates (wakeup.py) and the conditions of the
  clock (time_window, weekdays, utc_window) can pass; the moment they reopen is known. The
  other conditions (margin, equity, delta, positions) are not, so while the clock allows an
  entry every check counts. Every moment is a lower bound: waking early only costs a
  tick, never a decision.
- A strategy whose trade slots are all taken reopens when a trade finishes; that happens
  in a tick, after which the next moment is asked again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from runner.domain.trades import TradeStage
from runner.engine.exits import MARKET_RULES, exit_moments, nearest_expiry
from runner.engine.state import StrategyState
from runner.engine.wakeup import gates_reopen
from runner.engine.windows import in_time_window, next_time_of_day, next_utc_midnight
from runner.strategy.model import (
    AllOf,
    AnyOf,
    EntryCondition,
    StrategySpec,
    TimeWindowCondition,
    TimingSpec,
    UtcWindowCondition,
    WeekdaysCondition,
)

_SETTLEABLE = frozenset({TradeStage.OPEN, TradeStage.PENDING_CLOSE, TradeStage.CLOSING})
_WEEK = 7


def next_check(timing: TimingSpec, last_check: datetime | None, at: datetime) -> datetime:
    """The strategy's first check at or after `at` (never its last one again)."""
    if last_check is None:
        return at
    interval = timing.check_interval
    if interval <= timedelta(0):
        return max(at, last_check)
    steps = max(1, -((last_check - at) // interval))  # ceiling division of timedeltas
    return last_check + steps * interval


def on_check_grid(timing: TimingSpec, last_check: datetime | None, now: datetime) -> bool:
    """Whether `now` is one of the strategy's checks on its grid (last check + k x
    interval): how a simulation stepping by events decides a check is due, so a check is
    never made at a moment a loop ticking every second would not have made it."""
    if last_check is None:
        return True
    interval = timing.check_interval
    if interval <= timedelta(0):
        return True
    return now > last_check and (now - last_check) % interval == timedelta(0)


def next_moment(spec: StrategySpec, state: StrategyState, now: datetime) -> datetime | None:
    """The earliest moment after the decision at `now` that could decide something else;
    None when nothing of this strategy will ever change by the clock alone."""
    found = [m for m in (fixed_moment(spec, state, now), market_check(spec, state, now))
             if m is not None]
    return min(found, default=None)


def fixed_moment(spec: StrategySpec, state: StrategyState, now: datetime) -> datetime | None:
    """The next moment known from the clock alone: an entry check that can open, an exit
    of the clock, an expiry."""
    moments = _trade_moments(spec, state)
    entry = _entry_moment(spec, state, now)
    if entry is not None:
        moments.append(entry)
    return min(moments, default=None)


def market_check(spec: StrategySpec, state: StrategyState, now: datetime) -> datetime | None:
    """The next check at which an exit that reads the market may close a held trade."""
    if not _reads_the_market(spec, state):
        return None
    return next_check(spec.timing, state.last_entry_check, now)


def _entry_moment(spec: StrategySpec, state: StrategyState, now: datetime) -> datetime | None:
    reopen = gates_reopen(spec, state, now)
    if reopen is None:
        return None
    allowed = clock_allows_from(spec.entry, reopen)
    if allowed is None:
        return None
    return next_check(spec.timing, state.last_entry_check, allowed)


def _trade_moments(spec: StrategySpec, state: StrategyState) -> list[datetime]:
    moments: list[datetime] = []
    for trade in state.active_trades:
        expiry = nearest_expiry(trade)
        if expiry is not None and trade.stage in _SETTLEABLE:
            moments.append(expiry)
        if trade.stage is TradeStage.OPEN:
            moments.extend(exit_moments(spec, trade, state.launch))
    return moments


def _reads_the_market(spec: StrategySpec, state: StrategyState) -> bool:
    """An OPEN trade with an exit rule that reads the market: every check counts."""
    return (any(isinstance(rule, MARKET_RULES) for rule in spec.exits)
            and any(trade.stage is TradeStage.OPEN for trade in state.active_trades))


# -- conditions of the clock ------------------------------------------------------------
def clock_allows_from(condition: EntryCondition, at: datetime) -> datetime | None:
    """The earliest moment from `at` on at which the clock does not rule the condition
    out (other conditions are taken to pass); None when it never will."""
    if isinstance(condition, AllOf):
        return _latest(condition.conditions, at)
    if isinstance(condition, AnyOf):
        found = [m for c in condition.conditions if (m := clock_allows_from(c, at)) is not None]
        return min(found, default=None)
    if isinstance(condition, TimeWindowCondition):
        inside = in_time_window(condition.start, condition.end, at)
        return at if inside else next_time_of_day(condition.start, at)
    if isinstance(condition, WeekdaysCondition):
        return _next_weekday(condition, at)
    if isinstance(condition, UtcWindowCondition):
        if at >= condition.end:
            return None
        return max(at, condition.start)
    return at


def _latest(conditions: tuple[EntryCondition, ...], at: datetime) -> datetime | None:
    """All of them: the latest of their earliest moments (a lower bound for all at once)."""
    latest = at
    for condition in conditions:
        moment = clock_allows_from(condition, at)
        if moment is None:
            return None
        latest = max(latest, moment)
    return latest


def _next_weekday(condition: WeekdaysCondition, at: datetime) -> datetime | None:
    numbers = {day.number for day in condition.days}
    if at.weekday() in numbers:
        return at
    midnight = next_utc_midnight(at)
    for _ in range(_WEEK):
        if midnight.weekday() in numbers:
            return midnight
        midnight = next_utc_midnight(midnight)
    return None
