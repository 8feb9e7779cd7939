"""Watching the market feed each tick: stale prices and exchange reachability.

- Stale prices (lessons C1): an index price unchanged for 60 s is an alarm, and the
  stale price is taken out of the snapshot the engine sees, so no rule (ATM strike,
  index-move exit) ever evaluates on it.
- Reachability (lessons C4): three consecutive ticks whose essential reads failed make
  the exchange "unreachable"; while it is, no new entry is opened (exits and executions
  go on trying). One alert when it goes down, one when it comes back. Meanwhile the
  loop ticks slower (`runner.service.tick_cadence`).

Both judge on the reads made (issue 11: `read_plan` reads only what is due): a price is
stale when the reads of it, spanning 60 s or more, all saw the same value (a read that
was tried and failed counts as "unchanged"), never merely because it was read less
often; a tick counts towards "unreachable" when its account or positions read failed,
or, when it read neither, when every read it made failed; a tick that read nothing says
nothing either way. While the exchange is unreachable no tick reads nothing: the read
planner makes the liveness read on every tick then, so its return is seen at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from runner.domain.snapshot import MarketSnapshot
from runner.service.alerts import Alerter, AlertLevel
from runner.service.snapshots import MarketNeeds
from runner.service.staleness import DEFAULT_MAX_UNCHANGED, StalenessTracker

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
        self._tried: dict[str, datetime] = {}  # price key -> when a read of it was last tried
        self.verdict = WatchVerdict(reachable=True, stale=())

    def observe(self, snapshot: MarketSnapshot, needs: MarketNeeds | None = None) -> WatchVerdict:
        """Record this tick's snapshot and return the verdict it leads to.

        `needs` says what the tick tried to read; None means everything was."""
        now = snapshot.at
        for underlying, price in snapshot.index_prices.items():
            self._tracker.observe(f"index {underlying}", price, now)
        tried = snapshot.index_prices.keys() if needs is None else needs.underlyings
        self._tried.update({f"index {u}": now for u in tried})
        failed = _essential_failed(snapshot, needs)
        if failed is not None:
            self._failed_ticks = self._failed_ticks + 1 if failed else 0
        reachable = self._failed_ticks < self._unreachable_after
        stale = self._stale(now, everything=needs is None)
        self._report(reachable, stale, snapshot)
        self.verdict = WatchVerdict(reachable, stale)
        return self.verdict

    def _stale(self, now: datetime, *, everything: bool) -> tuple[str, ...]:
        """Keys unchanged over their reads; each judged at its last tried read (at `now`
        for every key when every tick reads everything)."""
        limit = self._tracker.max_unchanged
        return tuple(value.key for value in self._tracker.stale(now)
                     if everything or value.unchanged_for(self._tried.get(value.key, now))
                     >= limit)

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


def _essential_failed(snapshot: MarketSnapshot, needs: MarketNeeds | None) -> bool | None:
    """Whether the tick's essential reads failed; None when it read nothing.

    Essential: the account and positions when the tick read them; otherwise every read
    it made (index, chains, books, open orders) failing counts too."""
    if needs is None:
        return snapshot.account is None or snapshot.positions is None
    if needs.account or needs.positions:
        return (needs.account and snapshot.account is None) or \
            (needs.positions and snapshot.positions is None)
    made = len(needs.underlyings) + len(needs.chains) + len(needs.books) + needs.open_orders
    if not made:
        return None
    return len(snapshot.failures) >= made
