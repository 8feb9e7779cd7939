"""A5: SIGTERM at random points of a tick, many times; no restart begins with an unrequested close.

The stop request arrives from "outside" (what the signal handler does: `request_stop()`)
at a random exchange call of a random tick, while micro_strangle-like round trips are
opening, held or closing. The loop finishes the tick and returns; the graceful stop then
cancels working orders and closes the store (runner.service.live `_stop`), and a new process is
assembled on the same store and venue and runs on. Each time:
- the stop itself changes no trade (stages and transitions are those of the last tick);
- every move to PENDING_CLOSE in the whole history is an exit that was due (max_hold
  elapsed) or the unwind of a failed open, never a close the stop caused (A4, A5);
- the venue and the store agree at the end (no orphan, no duplicate, flat, limits kept).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from runner.domain.trades import Trade, TradeStage
from runner.service.loop import Service
from tests.crash.helpers_audit import audit, in_flight
from tests.crash.helpers_crash import MICRO, START, World, load_specs, run_until

ITERATIONS = 120
CALLS_IN_45_S = 280  # exchange calls of the service's first 45 ticks (measured: 283)
TICK = timedelta(seconds=1)
HOLD = timedelta(seconds=10)


class StopsAtCall:
    """The venue; at its `at`-th call the service is asked to stop (a signal arrives)."""

    def __init__(self, inner: Any, at: int) -> None:
        self._inner = inner
        self._at = at
        self.calls = 0
        self.service: Service | None = None

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self._at and self.service is not None:
                self.service.request_stop()
            return target(*args, **kwargs)

        return call


def snapshot_of(trades: list[Trade]) -> list[tuple[str, str, int]]:
    return [(t.trade_id, t.stage.value, len(t.transitions)) for t in trades]


def unrequested_closes(trades: list[Trade]) -> list[str]:
    found = []
    for trade in trades:
        for transition in trade.transitions:
            if transition.to_stage is not TradeStage.PENDING_CLOSE:
                continue
            due = trade.opened_at is not None and transition.at >= trade.opened_at + HOLD \
                and transition.reason.startswith("max_hold")
            unwind = trade.opened_at is None and transition.reason.startswith("open failed")
            if not (due or unwind):
                found.append(f"{trade.trade_id}: {transition.reason} at {transition.at}")
    return found


@pytest.mark.slow
def test_sigterm_at_random_points_never_causes_a_close(tmp_path) -> None:
    """A5: 120 stops at random calls of random ticks; then restart and run to the end."""
    rng = random.Random(5)
    specs = load_specs(tmp_path / "strategies", MICRO)
    stopped_mid_trade = 0
    for iteration in range(ITERATIONS):
        world = World(specs, tmp_path / f"state-{iteration}")
        exchange = StopsAtCall(world.venue, at=rng.randint(1, CALLS_IN_45_S))
        runtime = world.start(exchange)
        exchange.service, exchange.calls = runtime.service, 0
        assert not run_until(runtime, START + timedelta(seconds=45), TICK)
        assert runtime.service.stop_requested, f"iteration {iteration}: the stop never came"
        before = snapshot_of(runtime.store.load_trades())
        stopped_mid_trade += any(t.stage.is_active for t in runtime.store.load_trades())
        runtime.service.cancel_working_orders()  # the graceful stop (runner.service.live._stop)
        after = snapshot_of(runtime.store.load_trades())
        runtime.store.close()
        assert after == before, f"iteration {iteration}: the stop changed trades"

        world.clock.advance(timedelta(seconds=3))
        restarted = world.start()
        run_until(restarted, world.clock.now() + timedelta(minutes=2), TICK)
        trades = restarted.store.load_trades()
        assert unrequested_closes(trades) == [], f"iteration {iteration}"
        assert audit(world.venue, restarted.store, specs) == [], f"iteration {iteration}"
        assert in_flight(restarted.store, world.venue) == [], f"iteration {iteration}"
        restarted.store.close()
    assert stopped_mid_trade >= ITERATIONS // 4  # the stops did land inside trades
