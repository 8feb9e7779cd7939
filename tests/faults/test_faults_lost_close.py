"""A lost close order under a short fill timeout (issue 7 item 8; lessons B1, D2, D3).

The venue never receives the first close order, but its request times out (outcome
unknown): the dispatcher cannot tell "never placed" from "not visible yet" until the
missing-order grace (30 s, D2) has passed. With a 5 s fill timeout and 2 requote rounds
the whole close budget is 15 s: waiting to learn whether the lost order exists must not
use it up. The close goes on once the order is known not to exist and ends CLOSED.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from runner.exchange.errors import OutcomeUnknown
from tests.crash.helpers_audit import audit, in_flight, trades_of
from tests.crash.helpers_crash import MICRO, START, World, load_specs, run_until

SHORT_CLOSE = MICRO.replace(
    "close: {mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}",
    "close: {mode: limit, fill_timeout: 5s, requote_rounds: 2, aggressive_buffer_pct: 2}")


class LoseFirstClose:
    """The venue, except that the first close order's request never arrives and times out."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.lost = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def place_order(self, request: Any) -> int:
        if request.reduce_only and self.lost == 0:
            self.lost += 1
            raise OutcomeUnknown("no answer (lost on the way)", endpoint="place_order")
        return int(self._inner.place_order(request))


def test_a_lost_close_order_does_not_use_up_a_short_close_budget(tmp_path) -> None:
    assert "fill_timeout: 5s" in SHORT_CLOSE
    world = World(load_specs(tmp_path / "strategies", SHORT_CLOSE), tmp_path / "state")
    venue = LoseFirstClose(world.venue)
    runtime = world.start(venue)
    run_until(runtime, START + timedelta(minutes=3), timedelta(seconds=1))
    store = runtime.store
    assert venue.lost == 1
    first = trades_of(store, "micro")[0]
    assert first.stage.value == "closed", [t.reason for t in first.transitions]
    assert audit(world.venue, store, world.specs) == []
    assert in_flight(store, world.venue) == []
