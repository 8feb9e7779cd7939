"""Watching the market feed each tick: stale prices and exchange reachability.

- Stale prices (lessons C1): an index price unchanged for 60 s is an alarm, and the
  stale price is taken out of the snapshot the engine sees, so no rule (ATM strike,
  index-move exit) ever evaluates on it.
- Reachability (lessons C4): three consecutive ticks whose essential reads failed make
  the exchange "unreachable"; while it is, no new entry is opened (exits and executions
  go on trying). One alert when it goes down, one when it comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final

from runner.domain.snapshot import MarketSnapshot
from runner.service.alerts import Alerter, AlertLevel
from runner.service.health import DEFAULT_MAX_UNCHANGED, StalenessTracker

UNREACHABLE_AFTER: Final = 3
STALE_KEY: Final = "prices.stale"
UNREACHABLE_KEY: Final = "exchange.unreachable"


@dataclass(frozen=True, slots=True)
class WatchVerdict:
    reachable: bool
    stale: tuple[str, ...]

    @property
    def blocks_entries(self) -> bool:
        return not self.reachable


class MarketWatch:
    """Tracks staleness and reachability across ticks; alerts through `alerter`."""

    def __init__(self, alerter: Alerter | None = None, *,
                 max_unchanged: timedelta = DEFAULT_MAX_UNCHANGED,
                 unreachable_after: int = UNREACHABLE_AFTER) -> None:
        self._alerter = alerter
        self._tracker = StalenessTracker(max_unchanged)
        self._unreachable_after = unreachable_after
        self._failed_ticks = 0
        self.verdict = WatchVerdict(reachable=True, stale=())

    def observe(self, snapshot: MarketSnapshot) -> WatchVerdict:
        """Record this tick's snapshot and return the verdict it leads to."""
        now = snapshot.at
        for underlying, price in snapshot.index_prices.items():
            self._tracker.observe(f"index {underlying}", price, now)
        essential_failed = snapshot.account is None or snapshot.positions is None
        self._failed_ticks = self._failed_ticks + 1 if essential_failed else 0
        reachable = self._failed_ticks < self._unreachable_after
        stale = tuple(value.key for value in self._tracker.stale(now))
        self._report(reachable, stale, snapshot)
        self.verdict = WatchVerdict(reachable, stale)
        return self.verdict

    def fresh_view(self, snapshot: MarketSnapshot) -> MarketSnapshot:
        """The snapshot without the prices that are stale (the engine refuses what is absent)."""
        stale = set(self.verdict.stale)
        if not stale:
            return snapshot
        prices = {u: p for u, p in snapshot.index_prices.items() if f"index {u}" not in stale}
        return replace(snapshot, index_prices=prices)

    def _report(self, reachable: bool, stale: tuple[str, ...], snapshot: MarketSnapshot) -> None:
        if self._alerter is None:
            return
        if stale:
            self._alerter.alert(STALE_KEY, "prices unchanged for 60 s or more: "
                                + ", ".join(stale) + "; rules that need them are skipped")
        elif self.verdict.stale:
            self._alerter.recover(STALE_KEY, "prices move again")
        if not reachable:
            self._alerter.alert(UNREACHABLE_KEY, "exchange unreachable: no new entries, exits "
                                "retried; last failures: " + "; ".join(snapshot.failures[:3]),
                                level=AlertLevel.CRITICAL)
        elif not self.verdict.reachable:
            self._alerter.recover(UNREACHABLE_KEY, "exchange reachable again")

    @property
    def failed_ticks(self) -> int:
        return self._failed_ticks
