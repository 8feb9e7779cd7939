"""When could a strategy next open a trade? The cheap answer from its gates alone.

The service uses it twice: a strategy whose gates are closed needs no option chain this
tick (REST calls stay flat and simulation stays fast), and an accelerated simulation with
nothing in flight may jump the clock to the earliest moment any gate can reopen. Only
gates with a known reopening time are used (check interval, cooldown, daily limits,
schedule windows); entry conditions are not, so a strategy whose gates are open is always
ticked normally. The answer is a lower bound: nothing can open earlier; the engine still
decides at that moment. `gates_reopen` is the same answer for stepping a simulation from
one moment that matters to the next (moments.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from runner.engine.gates import (
    EntryGates,
    entry_gates,
    gate_checks,
    is_entry_due,
    schedule_checks,
)
from runner.engine.state import StrategyState
from runner.engine.windows import next_cycle, next_utc_midnight
from runner.strategy.model import StrategySpec

_DAILY = frozenset({"max_trades_per_day", "max_attempts_per_day"})


def gates_open(spec: StrategySpec, state: StrategyState, now: datetime) -> bool:
    """True when the entry is due and every gate and schedule check passes now."""
    gates = due_gates(spec, state, now)
    return gates is not None and all(check.passed for check in gates[0])


def due_gates(spec: StrategySpec, state: StrategyState, now: datetime) -> EntryGates | None:
    """The entry's gates (`entry_gates`) when the entry is due now, else None."""
    if not spec.enabled or not is_entry_due(spec.timing, state, now):
        return None
    return entry_gates(spec, state, now)


def next_entry_opportunity(spec: StrategySpec, state: StrategyState,
                           now: datetime) -> datetime | None:
    """The earliest moment the gates could all be open again; `now` when they are open,
    None when they never will in this run (a disabled strategy, a finished schedule)."""
    if not spec.enabled:
        return None
    reopening = _reopening(spec, state, now)
    return now if reopening.slots_taken else reopening.at


def gates_reopen(spec: StrategySpec, state: StrategyState, now: datetime) -> datetime | None:
    """The earliest moment the gates could all be open again by the clock; None when no
    moment will: a disabled strategy, a finished schedule, or every trade slot taken (a
    trade finishing reopens that, not a time)."""
    if not spec.enabled:
        return None
    reopening = _reopening(spec, state, now)
    return None if reopening.slots_taken else reopening.at


@dataclass(frozen=True, slots=True)
class _Reopening:
    at: datetime | None  # None: no cycle of the schedule is left
    slots_taken: bool = False  # the concurrency gate: reopens when a trade finishes


def _reopening(spec: StrategySpec, state: StrategyState, now: datetime) -> _Reopening:
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
            return _Reopening(None, slots_taken=True)
    schedule_results, _ = schedule_checks(spec.schedule, state, now)
    if spec.schedule is not None and not all(c.passed for c in schedule_results):
        upcoming = next_cycle(spec.schedule, state.launch, now)
        if upcoming is None:
            return _Reopening(None)
        reopen.append(upcoming.open_start)
    return _Reopening(max(reopen))
