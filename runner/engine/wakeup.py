"""When could a strategy next open a trade? The cheap answer from its gates alone.

The service uses it twice: a strategy whose gates are closed needs no option chain this
tick (REST calls stay flat and simulation stays fast), and an accelerated simulation with
nothing in flight may jump the clock to the earliest moment any gate can reopen. Only
gates with a known reopening time are used (check interval, cooldown, daily limits,
schedule windows); entry conditions are not, so a strategy whose gates are open is always
ticked normally. The answer is a lower bound: nothing can open earlier; the engine still
decides at that moment.
"""

from __future__ import annotations

from datetime import datetime

from runner.engine.gates import gate_checks, is_entry_due, schedule_checks
from runner.engine.state import StrategyState
from runner.engine.windows import next_cycle, next_utc_midnight
from runner.strategy.model import StrategySpec

_DAILY = frozenset({"max_trades_per_day", "max_attempts_per_day"})


def gates_open(spec: StrategySpec, state: StrategyState, now: datetime) -> bool:
    """True when the entry is due and every gate and schedule check passes now."""
    if not spec.enabled or not is_entry_due(spec.timing, state, now):
        return False
    checks = (*gate_checks(spec.timing, state, now),
              *schedule_checks(spec.schedule, state, now)[0])
    return all(check.passed for check in checks)


def next_entry_opportunity(spec: StrategySpec, state: StrategyState,
                           now: datetime) -> datetime | None:
    """The earliest moment the gates could all be open again; `now` when they are open,
    None when they never will in this run (a disabled strategy, a finished schedule)."""
    if not spec.enabled:
        return None
    reopen = [now]
    if not is_entry_due(spec.timing, state, now) and state.last_entry_check is not None:
        reopen.append(state.last_entry_check + spec.timing.check_interval)
    for check in gate_checks(spec.timing, state, now):
        if check.passed:
            continue
        if check.name == "cooldown" and state.last_created_at is not None:
            reopen.append(state.last_created_at + spec.timing.cooldown)
        elif check.name in _DAILY:
            reopen.append(next_utc_midnight(now))
        else:  # concurrency: reopens only when a trade finishes, which is not a time
            return now
    schedule_results, _ = schedule_checks(spec.schedule, state, now)
    if spec.schedule is not None and not all(c.passed for c in schedule_results):
        upcoming = next_cycle(spec.schedule, state.launch, now)
        if upcoming is None:
            return None
        reopen.append(upcoming.open_start)
    return max(reopen)
