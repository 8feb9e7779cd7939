"""Timing and schedules: per-day limits and cooldowns, cycle and daily schedules, and the pure
arithmetic of their windows (part of what the YAML means).

Part of the strategy model (`strategy.model` re-exports every name here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True, slots=True)
class TimingSpec:
    """Entry gates, checked in this order: concurrent trades, cooldown, trades per day,
    attempts per day, then the entry conditions. `None` = unlimited.

    Trades count opens that reached OPEN or beyond; attempts count every trade created,
    failed ones included (lessons I3). Days are UTC calendar days.
    """

    check_interval: timedelta = timedelta(seconds=60)
    cooldown: timedelta = timedelta(0)
    max_concurrent_trades: int = 1
    max_trades_per_day: int | None = 1
    max_attempts_per_day: int | None = 10


@dataclass(frozen=True, slots=True)
class CycleWindow:
    """One scheduled cycle: entries allowed in [open_start, open_end); `end_of_cycle`
    exits fire at close_at."""

    index: int
    open_start: datetime
    open_end: datetime
    close_at: datetime

    def is_open(self, now: datetime) -> bool:
        return self.open_start <= now < self.open_end


@dataclass(frozen=True, slots=True)
class CycleSchedule:
    """`count` cycles relative to the launch time T: cycle k opens at
    T + first_open_after + k x (close_after + gap), its open window lasts `open_window`,
    it closes at open start + close_after, then `gap` until the next open."""

    first_open_after: timedelta
    open_window: timedelta
    close_after: timedelta
    gap: timedelta
    count: int
    trades_per_cycle: int = 1

    @property
    def period(self) -> timedelta:
        return self.close_after + self.gap

    def windows(self, launch: datetime) -> tuple[CycleWindow, ...]:
        """Every cycle of a run launched at `launch` (aware UTC)."""
        first = launch + self.first_open_after
        return tuple(
            CycleWindow(k, start, start + self.open_window, start + self.close_after)
            for k in range(self.count)
            for start in (first + k * self.period,)
        )


@dataclass(frozen=True, slots=True)
class DailySchedule:
    """One cycle per UTC day: entries in [open_at, open_at + open_window); the cycle
    closes at close_at, on the same day or the next one when close_at <= open_at."""

    open_at: time
    open_window: timedelta
    close_at: time
    trades_per_cycle: int = 1

    def window_on(self, day: date) -> CycleWindow:
        """The cycle whose open window starts on `day` (UTC)."""
        start = datetime.combine(day, self.open_at.replace(tzinfo=UTC))
        close = datetime.combine(day, self.close_at.replace(tzinfo=UTC))
        if close <= start:
            close += timedelta(days=1)
        return CycleWindow(day.toordinal(), start, start + self.open_window, close)


Schedule = CycleSchedule | DailySchedule
