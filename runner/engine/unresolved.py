"""Silent strategies speak (issue 7 item 10): why an open window trades nothing.

A strategy whose gates and conditions all pass but whose legs cannot be resolved (no
listed expiry fits, no strike within tolerance, a quantity below the minimum) used to
run and never trade without a word. The engine returns the reason as data in the
decision (`Decision.unresolved`); the service tells it once per entry window, and
`runner plan` prints the same words (`text`).

The entry window is the schedule's open window, or the UTC day for a strategy without
a schedule. `key` is what must change for the reason to be told again: the window, the
leg, or the kind of failure (not its numbers, which move with the market every tick).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from runner.engine.selection import FailureKind, LegFailure
from runner.engine.state import StrategyState
from runner.engine.windows import open_cycle
from runner.strategy.model import StrategySpec


def unresolved_text(failure: LegFailure) -> str:
    """The words the service logs and `runner plan` prints."""
    return f"the legs cannot be resolved: {failure}"


@dataclass(frozen=True, slots=True)
class Unresolved:
    """The window is open and every check passed, but the legs cannot be resolved."""

    window: datetime  # when the entry window it happened in opened
    failure: LegFailure

    @property
    def key(self) -> tuple[datetime, int, FailureKind]:
        return (self.window, self.failure.leg, self.failure.kind)

    @property
    def text(self) -> str:
        return unresolved_text(self.failure)


def entry_window_start(spec: StrategySpec, state: StrategyState, now: datetime) -> datetime:
    """The start of the entry window `now` is in: the open cycle, else the UTC day."""
    if spec.schedule is not None:
        window = open_cycle(spec.schedule, state.launch, now)
        if window is not None:
            return window.open_start
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
