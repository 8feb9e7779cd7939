"""Kills mid-unwind, during recovery itself, after long downtimes, and over and over (A7, B1, I2).

- Mid-unwind: every opening put is refused for lack of margin, so each open fails and its
  call is traded back reduce-only; the kill lands on the unwind. Result: every attempt
  FAILED and flat, never more than the daily attempts, no leg sold beyond what was bought.
- During recovery: the restart itself is killed while reconciling; a third start finishes
  the job (recovery is idempotent, runs on every start, needs no marker, A7).
- A long downtime: the process stays dead longer than the open's or the close's budget.
- Again and again: ten kills at random calls in one day of trading, each followed by a
  restart; the venue and the store agree at the end.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from tests.crash.helpers_audit import audit, in_flight, trades_of
from tests.crash.helpers_crash import (
    MICRO,
    START,
    Killed,
    KillingExchange,
    KillPoint,
    RefusePuts,
    World,
    crash_and_recover,
    hard_kill,
    load_specs,
    reduce_only,
    run_until,
    stage_is,
)

TICK = timedelta(seconds=1)


@pytest.mark.parametrize("point", [
    pytest.param(KillPoint("event:trade_stage", when=stage_is("closing")),
                 id="unwind-persisted-before-its-order"),
    pytest.param(KillPoint("place_order", when=reduce_only), id="unwind-order-intent"),
    pytest.param(KillPoint("place_order", when=reduce_only, after=True),
                 id="unwind-order-accepted-answer-lost"),
])
def test_a_kill_mid_unwind_leaves_every_failed_open_flat(tmp_path, point: KillPoint) -> None:
    """B1 on the unwind path: reduce-only, exactly the filled quantity, never more."""
    one_attempt = MICRO.replace("max_attempts_per_day: 4", "max_attempts_per_day: 1")
    world = World(load_specs(tmp_path / "strategies", one_attempt), tmp_path / "state")
    run = crash_and_recover(world, point, tick=TICK, kill_by=START + timedelta(minutes=10),
                            until=START + timedelta(minutes=15), wrap=RefusePuts)
    store = run.runtime.store
    assert run.killed
    assert run.recovery == []
    assert audit(world.venue, store, world.specs) == []
    assert in_flight(store, world.venue) == []
    trades = trades_of(store, "micro")
    assert [t.stage.value for t in trades] == ["failed"]  # one attempt a day, used
    assert all(t.opened_at is None for t in trades)
    assert all(leg.closed_qty == leg.filled_qty for t in trades for leg in t.legs)


def test_a_kill_during_recovery_is_recovered_by_the_next_start(tmp_path) -> None:
    """A7: the restart dies while reconciling (reading fills); the third start completes."""
    world = World(load_specs(tmp_path / "strategies", MICRO), tmp_path / "state")
    first = KillingExchange(world.venue, KillPoint("place_order", nth=2, after=True),
                            armed=False)
    runtime = world.start(first)
    first.armed = True
    assert run_until(runtime, START + timedelta(minutes=2), TICK)
    hard_kill(runtime)
    world.clock.advance(timedelta(seconds=5))
    during = KillingExchange(world.venue, KillPoint("fills", after=True))
    with pytest.raises(Killed):
        world.start(during)
    world.clock.advance(timedelta(seconds=5))
    third = world.start()
    assert audit(world.venue, third.store, world.specs) == []
    run_until(third, START + timedelta(minutes=10), TICK)
    assert audit(world.venue, third.store, world.specs) == []
    assert in_flight(third.store, world.venue) == []
    assert [t.stage.value for t in trades_of(third.store, "micro")] == ["closed", "closed"]


def test_an_open_killed_and_down_longer_than_its_budget_fails_flat(tmp_path) -> None:
    """Both open orders were placed; the process is down 10 min (budget 5 min): the
    open completes or fails and unwinds; either way nothing is left held."""
    world = World(load_specs(tmp_path / "strategies", MICRO), tmp_path / "state")
    run = crash_and_recover(world, KillPoint("place_order", after=True), tick=TICK,
                            kill_by=START + timedelta(minutes=5),
                            until=START + timedelta(minutes=30),
                            restart_after=timedelta(minutes=10))
    assert run.recovery == []
    assert audit(world.venue, run.runtime.store, world.specs) == []
    assert in_flight(run.runtime.store, world.venue) == []


def test_a_close_killed_and_down_longer_than_its_budget_still_closes_after_restart(
        tmp_path) -> None:
    """B1 bounds close *attempts*; downtime is not an attempt: the close goes on."""
    world = World(load_specs(tmp_path / "strategies", MICRO), tmp_path / "state")
    run = crash_and_recover(world, KillPoint("place_order", when=reduce_only), tick=TICK,
                            kill_by=START + timedelta(minutes=5),
                            until=START + timedelta(minutes=30),
                            restart_after=timedelta(minutes=10))
    assert run.recovery == []
    assert audit(world.venue, run.runtime.store, world.specs) == []
    assert in_flight(run.runtime.store, world.venue) == []


def test_ten_kills_at_random_calls_in_a_day_of_trading(tmp_path) -> None:
    """A1, A7, D3: kill, restart, repeat; one busy strategy; agreement at the end."""
    busy = MICRO.replace("max_trades_per_day: 2", "max_trades_per_day: 6").replace(
        "cooldown: 10s", "cooldown: 2m").replace("max_attempts_per_day: 4",
                                                  "max_attempts_per_day: 20")
    world = World(load_specs(tmp_path / "strategies", busy), tmp_path / "state")
    rng = random.Random(11)
    kills = 0
    for _ in range(10):
        killer = KillingExchange(world.venue, KillPoint(
            rng.choice(["place_order", "place_order", "open_orders", "get_order", "orderbook",
                        "fills", "positions"]),
            nth=rng.randint(1, 3), after=rng.random() < 0.5), armed=False)
        runtime = world.start(killer, listener=killer.listener)
        killer.armed = True
        kills += run_until(runtime, world.clock.now() + timedelta(minutes=3), TICK)
        hard_kill(runtime)
        world.clock.advance(timedelta(seconds=rng.randint(2, 40)))
    last = world.start()
    run_until(last, world.clock.now() + timedelta(minutes=10), TICK)
    assert kills >= 7
    assert audit(world.venue, last.store, world.specs) == []
    assert in_flight(last.store, world.venue) == []
    opened = [t for t in trades_of(last.store, "micro") if t.opened_at is not None]
    assert len(opened) == 6  # the day's limit, reached once, never exceeded
