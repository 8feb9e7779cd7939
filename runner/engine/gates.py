"""Per-strategy entry gates: check interval, concurrent trades, cooldown, trades and
attempts per UTC day, the schedule window and trades per cycle.

Order (model.TimingSpec, strategy-semantics.md "A strategy"): concurrent trades, cooldown,
trades per day, attempts per day (lessons I3), then the schedule (window, then trades per
cycle). Every gate is evaluated and reported, in that order, so a log or `plan` shows all
of them; the trade opens only when all pass.

Deliberate choices:
- A reached quota only blocks until the next UTC day; it never disables the strategy
  (old-system a.1, lessons A2). The counts come from `StrategyState`, i.e. from the store.
- The check interval is not a gate: when it has not elapsed, entry is not evaluated at
  all (`Decision.entry_checked` False). It is due when it has elapsed since the last
  evaluation started (the old throttle restarted its timer on every evaluation).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from runner.engine.checks import CheckResult
from runner.engine.state import StrategyState
from runner.engine.windows import next_cycle, next_utc_midnight, open_cycle
from runner.strategy.model import CycleWindow, Schedule, StrategySpec, TimingSpec

# The gates and schedule checks of one entry, in order, and the open cycle's index.
EntryGates = tuple[tuple[CheckResult, ...], int | None]


def is_entry_due(timing: TimingSpec, state: StrategyState, now: datetime) -> bool:
    """Whether the check interval has elapsed since entry was last evaluated."""
    last = state.last_entry_check
    return last is None or now - last >= timing.check_interval


def gate_checks(timing: TimingSpec, state: StrategyState, now: datetime) -> tuple[CheckResult, ...]:
    """The four timing gates, in their documented order."""
    return (
        _concurrent(timing, state),
        _cooldown(timing, state, now),
        _daily("max_trades_per_day", "trades", state.trades_today, timing.max_trades_per_day,
               now),
        _daily("max_attempts_per_day", "attempts", state.attempts_today,
               timing.max_attempts_per_day, now),
    )


def entry_gates(spec: StrategySpec, state: StrategyState, now: datetime) -> EntryGates:
    """Every gate then the schedule's checks, in their documented order, and the open
    cycle: what an entry decision reports first, and what says whether its gates are open
    (a pure function of the spec, the state and the moment, so a tick that worked it out
    to plan its reads hands it to the decision: `decide(gates=)`)."""
    schedule, cycle = schedule_checks(spec.schedule, state, now)
    return (*gate_checks(spec.timing, state, now), *schedule), cycle


def _concurrent(timing: TimingSpec, state: StrategyState) -> CheckResult:
    active = 0
    for trade in state.active_trades:
        if trade.stage.is_active:
            active += 1
    limit = timing.max_concurrent_trades
    return CheckResult("max_concurrent_trades", active < limit,
                       "{} active of at most {}".format, (active, limit))


def _cooldown(timing: TimingSpec, state: StrategyState, now: datetime) -> CheckResult:
    last = state.last_created_at
    if last is None or timing.cooldown.total_seconds() <= 0:
        return CheckResult("cooldown", True, "no cooldown running")
    elapsed = now - last
    if elapsed >= timing.cooldown:
        return CheckResult("cooldown", True, "last trade created {} ago, cooldown {}".format,
                           (elapsed, timing.cooldown))
    return CheckResult("cooldown", False, _cooling, (elapsed, timing.cooldown, last))


def _cooling(elapsed: timedelta, cooldown: timedelta, last: datetime) -> str:
    return (f"last trade created {elapsed} ago, cooldown {cooldown} runs until "
            f"{(last + cooldown).isoformat()}")


def _daily(name: str, what: str, count: int, limit: int | None, now: datetime) -> CheckResult:
    if limit is None:
        return CheckResult(name, True, "{} {} today (UTC), unlimited".format, (count, what))
    if count < limit:
        return CheckResult(name, True, "{} of {} {} today (UTC)".format, (count, limit, what))
    return CheckResult(name, False, _quota_reached, (count, limit, what, now))


def _quota_reached(count: int, limit: int, what: str, now: datetime) -> str:
    return (f"{count} of {limit} {what} today (UTC); entries resume at "
            f"{next_utc_midnight(now).isoformat()}")


def schedule_checks(schedule: Schedule | None, state: StrategyState,
                    now: datetime) -> tuple[tuple[CheckResult, ...], int | None]:
    """The schedule window and trades-per-cycle gates, and the open cycle's index."""
    if schedule is None:
        return (), None
    window = open_cycle(schedule, state.launch, now)
    if window is None:
        upcoming = next_cycle(schedule, state.launch, now)
        when = (f"next window opens at {upcoming.open_start.isoformat(timespec='seconds')}"
                if upcoming else "every cycle of this run has passed")
        return (CheckResult("schedule", False, f"outside every open window; {when}"),), None
    inside = CheckResult("schedule", True, _open_until, (window,))
    made = state.trades_per_cycle.get(window.index, 0)
    limit = schedule.trades_per_cycle
    per_cycle = CheckResult("trades_per_cycle", made < limit,
                            "{} of {} trades in cycle {}".format, (made, limit, window.index))
    return (inside, per_cycle), window.index


def _open_until(window: CycleWindow) -> str:
    return f"cycle {window.index} open until {window.open_end.isoformat(timespec='seconds')}"
