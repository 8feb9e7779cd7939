"""Stepping an accelerated simulation from one moment that matters to the next (issue 12).

The live service ticks every couple of seconds whatever happens. A simulation of a month
or a year cannot: it asks, after every tick, when the next tick can change anything and
sets the manual clock there.
- While answers are pending, a trade waits to be worked, or the last tick failed: the
  next tick.
- While orders or RFQs are working: the first moment at which they may change anything
  (a fill, a requote, the next phase, a timeout, an RFQ's quotes arriving or becoming
  acceptable), which the order probe (order_probe.py) finds without a tick; the next
  tick when there is no probe (the venue cannot look ahead). Then, as when nothing works:
- The earliest of every strategy's next moment (engine/moments.py: its next
  check while it can enter or holds a trade with market exits, the moments of its exits of
  the clock, a leg's expiry) and the expiry of a failed trade's held legs. While nothing
  is in flight, entry checks at which a strategy's legs provably fail are passed over
  (entry_stretch.py, entry_screen.py), and held trades' market checks at which no exit
  fires are looked ahead at by the exit probe.
Moments are put on the tick grid (whole ticks from the start), so coarse stepping visits a
subset of the ticks a fine run visits, and every tick it skips is one that would have
decided nothing: the same strategy makes the same trades either way. For that, the
service checks a strategy only on its grid (`Service.checks_on_grid`): a tick made for
another strategy's moment never checks this one off its cadence.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from runner.domain.instruments import parse_symbol
from runner.engine.moments import fixed_moment, market_check
from runner.engine.state import StrategyState
from runner.service.entry_screen import EntryScreen
from runner.service.entry_stretch import pass_over_entries
from runner.service.exit_probe import ExitProbe
from runner.service.loop import Service
from runner.service.order_probe import OrderProbe
from runner.sim.faults import FaultPlan
from runner.strategy.model import StrategySpec


class Stepping(StrEnum):
    EVENTS = "events"  # from one moment that matters to the next (the default)
    TICKS = "ticks"  # every tick, as the live loop (the reference the tests compare with)
    IDLE_JUMPS = "idle_jumps"  # every tick while a trade is active, jump only when idle


def default_stepping(specs: Sequence[StrategySpec], tick: timedelta,
                     faults: FaultPlan | None) -> Stepping:
    """Events, unless a fault plan is given (faults timed within a trade's life must meet
    it: every tick while a trade is active) or a check interval is not a whole number of
    ticks (its grid would fall between ticks)."""
    if faults is not None:
        return Stepping.IDLE_JUMPS
    if any(spec.timing.check_interval % tick for spec in specs):
        return Stepping.IDLE_JUMPS
    return Stepping.EVENTS


def next_step(service: Service, now: datetime, tick: timedelta, *,
              probe: ExitProbe | None = None, orders: OrderProbe | None = None,
              entries: EntryScreen | None = None,
              until: datetime | None = None) -> datetime | None:
    """When the next tick can change anything (at least one tick on); None: never.

    While orders or RFQs work, the next tick, unless an `orders` probe looks ahead at
    them (order_probe.py): then the first moment at which they may change anything.
    With a `probe`, the checks of held trades' market exits before the next moment of the
    clock are looked at first (exit_probe.py), and only one at which an exit fires is
    returned; the probe moves the clock, never past `until`. While nothing is in flight,
    an `entries` screen passes over the entry checks at which a strategy's legs provably
    fail (entry_stretch.py).
    """
    working = service.in_flight()
    if service.failure_streak or (working and (orders is None or service.awaiting_answers())):
        return now + tick
    executions = service.working_executions() if working else []
    if working and OrderProbe.acts_next_tick(executions, now, tick):
        return now + tick
    views = service.decision_states(now)
    moments = {index: fixed_moment(spec, state, now) for index, (spec, state) in enumerate(views)}
    if entries is not None and not working:
        pass_over_entries(service, views, moments, now, tick, entries, until)
    fixed = [moment for moment in moments.values() if moment is not None]
    fixed.extend(parse_symbol(leg.symbol).expiry for trade in service.failed_holdings()
                 for leg in trade.legs if leg.open_qty > 0)
    horizon = min(fixed, default=None)
    if working and orders is not None:
        bound = min((m for m in (horizon, until) if m is not None), default=None)
        horizon = orders.next_event(executions, now, tick, bound)
        if horizon <= now + tick:
            return now + tick
    checks = {index: moment for index, (spec, state) in enumerate(views)
              if (moment := market_check(spec, state, now)) is not None}
    if probe is not None and not all(probe.can_probe(views[i][0]) for i in checks):
        probe = None
    wake = _first_deciding_check(views, checks, horizon, now, tick, probe, until)
    if wake is None:
        return None
    return on_tick_grid(max(wake, now + tick), now, tick)


def _first_deciding_check(views: list[tuple[StrategySpec, StrategyState]],
                          checks: dict[int, datetime], horizon: datetime | None,
                          now: datetime, tick: timedelta, probe: ExitProbe | None,
                          until: datetime | None) -> datetime | None:
    """The first market check before `horizon` at which an exit may fire (each one, when
    there is no probe), else `horizon`.

    The probe is first asked about a stretch of checks at once (the next `span` check
    intervals, growing while no exit can fire in them, shrinking while one may); when it
    cannot tell even for a short stretch, the next few checks are probed one by one
    before it is asked about a stretch again."""
    span, one_by_one = _FIRST_SPAN, 0
    while checks:
        at = min(checks.values())
        if horizon is not None and at >= horizon:
            break
        if probe is None or at != on_tick_grid(max(at, now + tick), now, tick):
            return at
        if until is not None and at >= until:
            return until
        if one_by_one == 0:
            span = _quiet_stretch(views, checks, span, horizon, until, now, tick, probe)
            if span:
                continue
            one_by_one, span = _FIRST_SPAN, _FIRST_SPAN
        one_by_one -= 1
        due = [index for index, moment in checks.items() if moment == at]
        if probe.fires([views[index] for index in due], at):
            return at
        for index in due:
            checks[index] = at + views[index][0].timing.check_interval
    return horizon


_FIRST_SPAN = 4  # check intervals
_LONGEST_SPAN = 256


def _quiet_stretch(views: list[tuple[StrategySpec, StrategyState]],
                   checks: dict[int, datetime], span: int, horizon: datetime | None,
                   until: datetime | None, now: datetime, tick: timedelta,
                   probe: ExitProbe) -> int:
    """Move `checks` past the longest stretch of at most `span` intervals (a quarter as
    long after each that may fire) in which the probe tells that no exit fires; the next
    span to try, or 0 when even the shortest may fire (or cannot be told)."""
    while True:
        stretch = _stretch(views, checks, span, horizon, until, now, tick)
        if stretch is None:
            return 0
        if probe.none_fire_within([views[index] for index in checks], stretch[0]):
            checks.update(stretch[1])
            return min(2 * span, _LONGEST_SPAN)
        if span <= _FIRST_SPAN:
            return 0
        span = max(_FIRST_SPAN, span // 4)


def _stretch(views: list[tuple[StrategySpec, StrategyState]], checks: dict[int, datetime],
             span: int, horizon: datetime | None, until: datetime | None, now: datetime,
             tick: timedelta) -> tuple[list[datetime], dict[int, datetime]] | None:
    """Every check of these strategies within the next `span` shortest check intervals,
    before `horizon` and `until` (ascending), and each one's first check after them; None
    when there are fewer than two or one is off the tick grid."""
    intervals = {index: views[index][0].timing.check_interval for index in checks}
    start = min(checks.values())
    end = start + span * min(intervals.values())
    limits = [moment for moment in (horizon, until) if moment is not None]
    moments: set[datetime] = set()
    after = {}
    for index, first in checks.items():
        interval = intervals[index]
        if (first - now) % tick or interval % tick or first <= now:
            return None
        moment = first
        while moment <= end and all(moment < limit for limit in limits):
            moments.add(moment)
            moment += interval
        after[index] = moment
    if len(moments) < 2:
        return None
    return sorted(moments), after


def on_tick_grid(wake: datetime, now: datetime, tick: timedelta) -> datetime:
    """The first tick at or after `wake`, keeping the tick grid (whole ticks from now)."""
    steps = -((now - wake) // tick)  # ceiling division of timedeltas
    return now + steps * tick
