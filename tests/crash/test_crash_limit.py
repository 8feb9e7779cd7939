"""Killed (SIGKILL-like) at chosen points of limit-order round trips, restarted, run on (A1, I2).

micro_strangle-like: buy a 0.01 strangle, hold 10 s, sell it, two trades a day. The
service is killed at one call or event, dropped without cleanup, and a new process is
assembled on the same store and the same venue 5 s later, still inside the entry window.
After recovery and after running on: every venue order and fill is the store's, no
orphan order, every venue position explained by the store's trades, fills equal on both
sides (no duplicate, no over-close), the daily limit kept, and every execution finished.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.crash.helpers_audit import audit, in_flight, trades_of
from tests.crash.helpers_crash import (
    MICRO,
    START,
    KillPoint,
    World,
    crash_and_recover,
    load_specs,
    opening,
    reduce_only,
    stage_is,
)

TICK = timedelta(seconds=1)

KILL_POINTS = [
    pytest.param(KillPoint("event:trade_created"), id="after-the-trade-intent-before-any-order"),
    pytest.param(KillPoint("place_order"), id="after-the-first-order-intent-before-its-request"),
    pytest.param(KillPoint("place_order", after=True),
                 id="first-order-accepted-answer-lost"),
    pytest.param(KillPoint("place_order", nth=2), id="after-the-second-order-intent"),
    pytest.param(KillPoint("place_order", nth=2, after=True),
                 id="second-order-accepted-answer-lost"),
    pytest.param(KillPoint("open_orders", nth=2, after=True), id="polling-after-the-open"),
    pytest.param(KillPoint("get_order", after=True), id="reading-an-order-after-it-left"),
    pytest.param(KillPoint("fills", after=True), id="reading-the-fills"),
    pytest.param(KillPoint("event:trade_stage", when=stage_is("closing")),
                 id="close-persisted-before-its-orders"),
    pytest.param(KillPoint("place_order", when=reduce_only),
                 id="after-the-first-close-intent"),
    pytest.param(KillPoint("place_order", when=reduce_only, after=True),
                 id="first-close-accepted-answer-lost"),
    pytest.param(KillPoint("place_order", nth=2, when=reduce_only, after=True),
                 id="second-close-accepted-answer-lost"),
    pytest.param(KillPoint("place_order", nth=3, when=opening, after=True),
                 id="second-trade-open-accepted-answer-lost"),
]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_kill_at_any_point_of_a_limit_round_trip_loses_and_duplicates_nothing(
        tmp_path, point: KillPoint) -> None:
    """A1, I2, D3: restart inside the entry window; exactly the day's two trades, flat."""
    world = World(load_specs(tmp_path / "strategies", MICRO), tmp_path / "state")
    run = crash_and_recover(world, point, tick=TICK, kill_by=START + timedelta(minutes=5),
                            until=START + timedelta(minutes=12))
    store = run.runtime.store
    assert run.killed, f"the kill point {point.method} was never reached"
    assert run.recovery == []
    assert audit(world.venue, store, world.specs) == []
    assert in_flight(store, world.venue) == []
    trades = trades_of(store, "micro")
    assert [t.stage.value for t in trades if t.opened_at is not None] == ["closed", "closed"]
    assert store.trades_created_on("micro", START.date()) == 2
