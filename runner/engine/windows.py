"""Times of day and schedules: is now inside a window, which cycle is open, when a cycle
closes, when a UTC time of day next comes round.

Invariants: every datetime is aware UTC; a time of day from the spec is a UTC time
(aware or naive, both read as UTC). Windows are half-open [start, end).

Deliberate choices:
- A cycle is identified by the index the model gives it: 0..count-1 for a
  `CycleSchedule` (relative to the launch time), the day's ordinal for a
  `DailySchedule`. `Trade.cycle` stores that index, so `end_of_cycle` exits find the
  cycle the trade opened in, even after later cycles have started.
- `next_time_of_day` is strictly after its reference: a trade opened at 20:00 with a
  19:00 exit closes at 19:00 the next day (the old system closed it at once, old-system b.1).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from runner.strategy.model import CycleSchedule, CycleWindow, DailySchedule, Schedule

_DAY = timedelta(days=1)


def utc_clock_time(at: time) -> time:
    """A spec time of day as a naive UTC time, so it compares with `time_of(now)`."""
    return at.replace(tzinfo=None)


def time_of(now: datetime) -> time:
    """The UTC time of day of `now` (naive, for comparisons)."""
    return now.astimezone(UTC).time()


def in_time_window(start: time, end: time, now: datetime) -> bool:
    """UTC time of day of `now` in [start, end); wraps past midnight when end <= start."""
    moment, begin, finish = time_of(now), utc_clock_time(start), utc_clock_time(end)
    if finish <= begin:
        return moment >= begin or moment < finish
    return begin <= moment < finish


def at_time_on(day: date, at: time) -> datetime:
    return datetime.combine(day, utc_clock_time(at), tzinfo=UTC)


def next_time_of_day(at: time, after: datetime) -> datetime:
    """The first moment strictly after `after` whose UTC time of day is `at`."""
    after = after.astimezone(UTC)
    candidate = at_time_on(after.date(), at)
    return candidate if candidate > after else candidate + _DAY


def next_utc_midnight(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + _DAY, time(0), tzinfo=UTC)


def cycle_windows_near(schedule: Schedule, launch: datetime,
                       now: datetime) -> tuple[CycleWindow, ...]:
    """The cycles `now` may be inside or before: all of a CycleSchedule, or yesterday's,
    today's and tomorrow's of a DailySchedule."""
    if isinstance(schedule, CycleSchedule):
        return schedule.windows(launch)
    today = now.astimezone(UTC).date()
    return tuple(schedule.window_on(today + timedelta(days=k)) for k in (-1, 0, 1))


def open_cycle(schedule: Schedule, launch: datetime, now: datetime) -> CycleWindow | None:
    """The cycle whose open window contains `now`, if any."""
    return next((w for w in cycle_windows_near(schedule, launch, now) if w.is_open(now)), None)


def next_cycle(schedule: Schedule, launch: datetime, now: datetime) -> CycleWindow | None:
    """The first cycle whose open window starts after `now` (None when all have passed)."""
    later = [w for w in cycle_windows_near(schedule, launch, now) if w.open_start > now]
    return min(later, key=lambda w: w.open_start, default=None)


def cycle_window(schedule: Schedule, launch: datetime, index: int) -> CycleWindow | None:
    """The cycle with this index (as stored on a trade), or None when there is none."""
    if isinstance(schedule, DailySchedule):
        if index < 1:
            return None
        return schedule.window_on(date.fromordinal(index))
    windows = schedule.windows(launch)
    return windows[index] if 0 <= index < len(windows) else None
