"""Killed at chosen points of RFQ round trips, with and without the limit fallback (A1, B13).

rfq_endurance-like: scheduled cycles from launch, each buying a 0.5 strangle by RFQ
(quotes must be at least as good as the book) and closing it at the end of its cycle,
limit orders as the fallback. Makers quote (the RFQ path) or stay silent (every open and
close falls back to limit orders after the RFQ timeout). A kill mid-RFQ (created, quotes
read, accept sent or answered) and a restart inside the cycle: one structure per cycle on
the venue, the schedule resumed (not begun again), no block trade or order the store
does not know, no request left active, flat at the end.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.crash.helpers_audit import audit, in_flight, trades_of
from tests.crash.helpers_crash import (
    RFQ,
    START,
    CrashRun,
    KillPoint,
    World,
    crash_and_recover,
    load_specs,
    reduce_only,
    stage_is,
)

TICK = timedelta(seconds=2)

QUOTED = [
    pytest.param(KillPoint("event:trade_created"), id="after-the-trade-intent"),
    pytest.param(KillPoint("create_rfq"), id="after-the-create-intent-before-its-request"),
    pytest.param(KillPoint("create_rfq", after=True), id="rfq-created-answer-lost"),
    pytest.param(KillPoint("rfq_quotes", after=True), id="mid-rfq-quotes-read"),
    pytest.param(KillPoint("accept_quote"), id="after-the-accept-intent-before-its-request"),
    pytest.param(KillPoint("accept_quote", after=True), id="accepted-answer-lost"),
    pytest.param(KillPoint("create_rfq", nth=2, after=True), id="close-rfq-created-answer-lost"),
    pytest.param(KillPoint("accept_quote", nth=2), id="close-accept-intent-before-its-request"),
    pytest.param(KillPoint("accept_quote", nth=2, after=True),
                 id="close-accepted-answer-lost"),
]

SILENT = [
    pytest.param(KillPoint("cancel_rfq", after=True), id="timed-out-rfq-cancelled-answer-lost"),
    pytest.param(KillPoint("place_order"), id="fallback-first-order-intent"),
    pytest.param(KillPoint("place_order", after=True), id="fallback-first-order-accepted"),
    pytest.param(KillPoint("place_order", nth=2, after=True), id="fallback-second-order-accepted"),
    pytest.param(KillPoint("place_order", when=reduce_only, after=True),
                 id="fallback-first-close-accepted"),
    pytest.param(KillPoint("place_order", nth=2, when=reduce_only, after=True),
                 id="fallback-second-close-accepted"),
]


def rfq_world(tmp_path, *, makers_quote: bool, cycles: int = 1) -> World:
    text = RFQ.replace("count: 2", f"count: {cycles}")
    world = World(load_specs(tmp_path / "strategies", text), tmp_path / "state")
    if not makers_quote:
        world.venue.set_maker_behaviour(enabled=False)
    return world


def check_cycles(world: World, run: CrashRun, cycles: int) -> None:
    store = run.runtime.store
    assert run.killed, "the kill point was never reached"
    assert run.recovery == []
    assert audit(world.venue, store, world.specs) == []
    assert in_flight(store, world.venue) == []
    opened = [t for t in trades_of(store, "rfqe") if t.opened_at is not None]
    assert [(t.cycle, t.stage.value) for t in opened] == [(k, "closed") for k in range(cycles)]
    # A request whose create answer was lost has no id in the store: it can never be traded
    # and simply expires on the exchange (dispatch.rfqs); every other one is settled.
    left_active = [r.request_id for r in world.venue.rfq_records()
                   if r.state.value == "active" and store.find_rfq(r.request_id) is not None]
    assert left_active == []


@pytest.mark.parametrize("point", QUOTED)
def test_a_kill_mid_rfq_keeps_one_structure_in_the_cycle(tmp_path, point: KillPoint) -> None:
    """A1 with RFQ: restart inside the cycle; the accept is never repeated nor lost."""
    world = rfq_world(tmp_path, makers_quote=True)
    run = crash_and_recover(world, point, tick=TICK, kill_by=START + timedelta(minutes=14),
                            until=START + timedelta(minutes=17))
    check_cycles(world, run, 1)


@pytest.mark.parametrize("point", SILENT)
def test_a_kill_during_the_limit_fallback_keeps_one_structure_in_the_cycle(
        tmp_path, point: KillPoint) -> None:
    """B13: silent makers, every RFQ times out; killed while falling back to limit orders."""
    world = rfq_world(tmp_path, makers_quote=False)
    run = crash_and_recover(world, point, tick=TICK, kill_by=START + timedelta(minutes=14),
                            until=START + timedelta(minutes=17))
    check_cycles(world, run, 1)
    assert world.venue.block_trades(START) == []


def test_a_kill_in_the_second_cycle_resumes_the_schedule_of_the_first_launch(tmp_path) -> None:
    """A1: the restart inside cycle 1 neither begins the cycles again nor repeats cycle 1."""
    world = rfq_world(tmp_path, makers_quote=True, cycles=2)
    point = KillPoint("create_rfq", nth=3, when=lambda *_: True, after=True)
    run = crash_and_recover(world, point, tick=TICK, kill_by=START + timedelta(minutes=30),
                            until=START + timedelta(minutes=32))
    check_cycles(world, run, 2)
    assert run.killed_at is not None
    assert run.killed_at >= START + timedelta(minutes=16)


def test_a_close_rfq_killed_before_its_create_and_down_past_its_timeout_closes_once(
        tmp_path) -> None:
    """Killed after the close was saved, before its CreateRfq went out; down 90 s (the RFQ
    timeout is 1 min): the close happens once, and no request of the trade is left active
    and unwatched (found by tests/bench/crash_campaign.py)."""
    world = rfq_world(tmp_path, makers_quote=True)
    point = KillPoint("event:trade_stage", when=stage_is("closing"))
    run = crash_and_recover(world, point, tick=TICK, kill_by=START + timedelta(minutes=14),
                            until=START + timedelta(minutes=17),
                            restart_after=timedelta(seconds=90))
    check_cycles(world, run, 1)
    assert run.killed_at == START + timedelta(minutes=11)


def test_a_close_rfq_whose_creation_was_lost_with_the_process_is_not_left_active(
        tmp_path) -> None:
    """Killed while reading the close request's first quotes (its RfqCreated lived only in
    memory), down 90 s past the 1 min RFQ timeout: the close happens once and no request
    of the trade stays active unwatched (found by the crash campaign under faults)."""
    world = rfq_world(tmp_path, makers_quote=True)
    closing = START + timedelta(minutes=11)  # the end of cycle 0: the close RFQ is created
    point = KillPoint("rfq_quotes", when=lambda *_: world.clock.now() > closing)
    run = crash_and_recover(world, point, tick=TICK, kill_by=START + timedelta(minutes=14),
                            until=START + timedelta(minutes=17),
                            restart_after=timedelta(seconds=90))
    check_cycles(world, run, 1)
