"""Stale prices and reachability, watched tick by tick (lessons C1, C4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.service.alerts import AlertLevel
from runner.service.snapshots import MarketNeeds, SnapshotReader
from runner.service.watch import STALE_KEY, UNREACHABLE_KEY, MarketWatch
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.faulty import FaultyExchange
from runner.sim.venue import SimVenue

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BTC_ONLY = MarketNeeds(underlyings=frozenset({Underlying.BTC}))


class RecordingAlerter:
    """An alerter that remembers what it was told (the real one de-duplicates the same way)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self._active: set[str] = set()

    def alert(self, key: str, text: str, *, level: AlertLevel = AlertLevel.WARNING,
              strategy: str | None = None) -> bool:
        if key in self._active:
            return False
        self._active.add(key)
        self.sent.append(("alert", key))
        return True

    def recover(self, key: str, text: str, *, strategy: str | None = None) -> bool:
        if key not in self._active:
            return False
        self._active.discard(key)
        self.sent.append(("recover", key))
        return True


def test_a_frozen_index_raises_a_staleness_alarm_within_60_seconds_and_is_withheld() -> None:
    """C1: freeze the simulator's index feed: an alarm within 60 s, and no rule sees it."""
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    reader, alerter = SnapshotReader(venue), RecordingAlerter()
    watch = MarketWatch(alerter)
    venue.freeze_prices(Underlying.BTC)
    for _ in range(13):  # 0 .. 60 s in 5 s ticks
        snapshot = reader.read(BTC_ONLY, clock.now())
        watch.observe(snapshot)
        clock.advance(timedelta(seconds=5))
    assert ("alert", STALE_KEY) in alerter.sent
    assert watch.fresh_view(snapshot).index_price(Underlying.BTC) is None
    venue.unfreeze_prices(Underlying.BTC)
    clock.advance(timedelta(seconds=5))
    watch.observe(reader.read(BTC_ONLY, clock.now()))
    assert alerter.sent[-1] == ("recover", STALE_KEY)


def test_a_moving_index_never_alarms() -> None:
    clock = ManualClock(START)
    reader, alerter = SnapshotReader(SimVenue(clock, seed=3)), RecordingAlerter()
    watch = MarketWatch(alerter)
    for _ in range(40):
        verdict = watch.observe(reader.read(BTC_ONLY, clock.now()))
        clock.advance(timedelta(seconds=5))
    assert verdict.stale == ()
    assert alerter.sent == []


def test_a_five_minute_outage_blocks_entries_with_one_down_and_one_up_alert() -> None:
    """C4: no entries while unreachable; one down alert and one recovery alert."""
    clock = ManualClock(START)
    plan = FaultPlan.of()
    reader = SnapshotReader(FaultyExchange(SimVenue(clock, seed=3), plan, clock))
    alerter = RecordingAlerter()
    watch = MarketWatch(alerter)
    assert not watch.observe(reader.read(BTC_ONLY, clock.now())).blocks_entries
    plan.add(FaultRule(endpoint="*", kind=FaultKind.HTTP_5XX))
    blocked = []
    for _ in range(60):  # five minutes of 5 s ticks
        clock.advance(timedelta(seconds=5))
        blocked.append(watch.observe(reader.read(BTC_ONLY, clock.now())).blocks_entries)
    assert blocked[:2] == [False, False]  # two failed ticks are a blip, not an outage
    assert all(blocked[2:])
    plan.clear()
    clock.advance(timedelta(seconds=5))
    assert not watch.observe(reader.read(BTC_ONLY, clock.now())).blocks_entries
    reachability = [sent for sent in alerter.sent if sent[1] == UNREACHABLE_KEY]
    assert reachability == [("alert", UNREACHABLE_KEY), ("recover", UNREACHABLE_KEY)]
