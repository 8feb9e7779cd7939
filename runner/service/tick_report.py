"""What one tick did (for logs, the heartbeat, the narrator and simulations), and the
failure streak that ends the loop for its supervisor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from runner.domain.trades import Trade
from runner.engine.decide import Decision


class TooManyFailures(RuntimeError):
    """The loop failed MAX_FAILED_TICKS times in a row: exit so the supervisor restarts us."""


@dataclass(slots=True)
class TickReport:
    """What one tick did, for logs, the heartbeat and simulations."""

    at: datetime
    decisions: list[Decision] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    closing: list[str] = field(default_factory=list)
    finished: list[Trade] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    strategy_errors: list[tuple[str, str]] = field(default_factory=list)
    snapshot_failures: tuple[str, ...] = ()
    entries_blocked: bool = False  # the exchange is unreachable (lessons C4)
    # (strategy, why): an entry the engine wanted but an open concern held back
    blocked_entries: list[tuple[str, str]] = field(default_factory=list)
