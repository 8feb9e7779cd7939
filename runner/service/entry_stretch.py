"""Passing over a strategy's entry checks at which its legs provably fail (issue 12).

While a strategy holding nothing may enter, each of its checks is a moment the stepping
(stepping.py) must look at: a tick each. The entry screen (entry_screen.py) proves, for a
stretch of them at once, that the legs cannot be resolved at any; those checks then
decide nothing, and the strategy's next moment becomes the first check not proven.

What a tick at such a check would have left behind, and why passing over it changes no
later decision (a tick decides only on what it reads at its own moment):
- the strategy's last entry check: it only places the next check on the same grid
  (last check + k x interval), which holds from the older check as well
  (`on_check_grid`, `next_check`); the checks passed over are worked out exactly as the
  ticks would have made them (`fixed_moment` after each, so a window's or schedule's
  edge ends them);
- the hourly prune of finished trades, which a trade's id counts (tracking.py): no check
  at or after the next prune is passed over, so prunes happen at the same ticks;
- the read plan's memory, the positions last seen, the market watch, the store's check:
  a check that decides nothing reads nothing another decision needs (a tick that opens
  reads its account, positions, index and chains afresh);
- the "legs cannot be resolved" words, told once per window: told at a later tick of the
  window instead (words, no decision).

It passes over nothing it could see less well than a tick: anything in flight, a failed
trade holding legs, copies of a strategy managing held trades, an operator request, a
failed tick, the exchange judged unreachable or a price stale, a strategy that holds a
trade or has never checked (its first check anchors its grid), a check off the tick grid.
Only checks before every other strategy's next fixed moment and before `until` are
passed over; held trades' market checks are left to the exit probe (stepping.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from runner.engine.moments import fixed_moment
from runner.engine.state import StrategyState
from runner.engine.windows import next_utc_midnight
from runner.service.entry_screen import EntryScreen
from runner.service.loop import Service
from runner.strategy.model import StrategySpec

Views = Sequence[tuple[StrategySpec, StrategyState]]

_MOST_CHECKS = 512  # per strategy and step


def pass_over_entries(service: Service, views: Views, moments: dict[int, datetime | None],
                      now: datetime, tick: timedelta, screen: EntryScreen,
                      until: datetime | None) -> None:
    """Move each screened strategy's next moment in `moments` (by view, from
    `fixed_moment`) past its entry checks at which the legs provably fail."""
    screened = sorted((moment, index) for index, (spec, state) in enumerate(views)
                      if (moment := moments[index]) is not None
                      and _may_screen(spec, state, screen))
    prune = _next_prune(service, views) if screened else None
    if prune is None:
        return
    chosen = {index for _, index in screened}
    limits = [moment for index, moment in moments.items()
              if index not in chosen and moment is not None]
    limit = min((prune, *limits, *((until,) if until is not None else ())))
    for first, index in screened:
        if first >= limit:
            break
        spec, state = views[index]
        checks = _EntryChecks(spec, state, first, now, tick, limit)
        moment = moments[index] = checks.moment(screen.failing(spec, checks.first))
        if moment is not None:
            limit = min(limit, moment)


class _EntryChecks:
    """A strategy's entry checks from `first` (its next fixed moment) before `limit` and
    midnight UTC, each on the tick grid, worked out as the ticks at them would make
    them (`fixed_moment` after each) and only as far as they are asked for."""

    def __init__(self, spec: StrategySpec, state: StrategyState, first: datetime,
                 now: datetime, tick: timedelta, limit: datetime) -> None:
        self._spec, self._state, self._now, self._tick = spec, state, now, tick
        self._end = min(limit, next_utc_midnight(first))
        self._checks: list[datetime] = []
        self._next: datetime | None = first  # the strategy's moment after those listed

    def first(self, count: int) -> list[datetime]:
        """Its first `count` checks (fewer when the others are past the end)."""
        checks = self._checks
        while len(checks) < min(count, _MOST_CHECKS):
            moment = self._next
            if moment is None or moment >= self._end or moment <= self._now or (
                    moment - self._now) % self._tick:
                break
            checks.append(moment)
            self._state = replace(self._state, last_entry_check=moment)
            self._next = fixed_moment(self._spec, self._state, moment)
        return checks[:count]

    def moment(self, proven: int) -> datetime | None:
        """The strategy's next moment once its first `proven` checks are passed over."""
        checks = self.first(proven + 1)
        return checks[proven] if proven < len(checks) else self._next


def _may_screen(spec: StrategySpec, state: StrategyState, screen: EntryScreen) -> bool:
    """An enabled strategy holding nothing, its grid anchored, with a leg to prove."""
    return (spec.enabled and not state.active_trades and state.last_entry_check is not None
            and screen.can_screen(spec))


def _next_prune(service: Service, views: Views) -> datetime | None:
    """When the service next prunes its finished trades (no check at or after it is
    passed over); None when the screen may see anything less well than a tick (the
    caller has checked that nothing is in flight and the last tick did not fail)."""
    verdict = service.watch.verdict
    pruned = service.next_prune
    if (pruned is None or len(views) != len(service.all_specs) or not service.checks_on_grid
            or service.failed_holdings() or service.reacting or service.watch.failed_ticks
            or not verdict.reachable or verdict.stale or service.control.has_pending()):
        return None
    return pruned
