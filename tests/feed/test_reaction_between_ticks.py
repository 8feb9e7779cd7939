"""React between ticks (issue 11 item 3): a pushed index that crosses a held trade's exit
threshold gets its close order sent without waiting for the next tick; the decision runs
on the loop thread, in a full tick."""

from __future__ import annotations

from pathlib import Path

from helpers_feed import FAST
from helpers_reaction import cross_index_after_a_tick, run_service, serve_venue, wait

TICK = 2.0  # seconds between regular ticks: a close sooner than this came between ticks


def test_an_index_crossing_pushed_between_ticks_sends_the_close_before_the_next_tick(
        tmp_path: Path) -> None:
    server, recorder = serve_venue()
    thread, running = run_service(tmp_path, server, tick=TICK, feed=True, timing=FAST)
    try:
        crossed = cross_index_after_a_tick(server, recorder, running)
        ticks_before = len(running.ticks_done)
        wait("the close order", lambda: recorder.closes_after(crossed), TICK, running)
        reaction = recorder.closes_after(crossed)[0] - crossed
        print(f"reaction with the feed: {reaction * 1000:.0f} ms")
        assert reaction < TICK * 0.75, f"the close came {reaction:.3f} s after the crossing"
        assert running.reaction is not None
        assert running.reaction.stats.early_ticks >= 1
        assert running.reaction.stats.woken_for  # the trade that woke the loop
        # the close came from a tick the push started, not from the feed thread
        wait("the early tick to end", lambda: len(running.ticks_done) > ticks_before, TICK,
             running)
        assert running.ticks_done[ticks_before] - crossed < TICK
    finally:
        running.service.request_stop()
        thread.join(15)
        server.stop()
    assert not thread.is_alive()


def test_without_the_feed_the_same_crossing_waits_for_the_next_regular_tick(
        tmp_path: Path) -> None:
    server, recorder = serve_venue()
    thread, running = run_service(tmp_path, server, tick=TICK, feed=False)
    try:
        crossed = cross_index_after_a_tick(server, recorder, running)
        # The next regular tick decides the close; a trade held on index_move alone has no
        # chain read that tick (lean reads, read_plan.py), so its close is priced and sent
        # by the tick after: up to three tick intervals after the crossing, never before
        # the next regular tick.
        wait("the close order", lambda: recorder.closes_after(crossed), 3 * TICK, running)
        assert recorder.closes_after(crossed)[0] - crossed > TICK * 0.8
    finally:
        running.service.request_stop()
        thread.join(15)
        server.stop()
    assert running.reaction is None  # nothing could wake the loop early
