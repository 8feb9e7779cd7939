"""Issue 11: while orders work, a tick reads the open orders once, for the order poll and
the snapshot alike, and no fill is lost for it.

The service runs on the simulated venue (manual clock, 2 s ticks); every exchange call is
recorded. A strangle opens, is held a minute and closes; its orders work on both ways.
"""

from __future__ import annotations

from datetime import timedelta

from runner.domain.trades import TradeStage
from runner.sim.faults import FaultRule
from tests.service.test_read_plan import TICK, World, world


def tick_reading(trading: World) -> int:
    """One tick; how many open-orders reads it made."""
    before = len(trading.exchange.calls)
    trading.run(TICK)
    return trading.exchange.calls[before:].count("open_orders")


def test_a_trade_opened_and_closed_reads_the_open_orders_at_most_once_a_tick(tmp_path) -> None:
    """B7: the fills still come from the exchange's truth (the poll's read and its
    lookups); the snapshot's list is the one the poll read."""
    trading = world(tmp_path, "      - max_hold: 1m")
    reads, shared = [], 0
    for _ in range(150):
        reads.append(tick_reading(trading))
        snapshot = trading.runtime.service.last_snapshot
        assert snapshot is not None
        polled = trading.runtime.dispatcher.orders_polled(snapshot.at)
        if polled is not None and snapshot.open_orders is not None:
            assert snapshot.open_orders == polled.orders
            shared += 1
        if trading.trades()[0].stage.is_terminal:
            break
    assert max(reads) == 1
    assert shared >= 2  # the open's and the close's orders were each seen working
    [trade] = trading.trades()
    assert trade.stage is TradeStage.CLOSED
    assert all(leg.filled_qty == leg.qty == leg.closed_qty for leg in trade.legs)
    assert trading.runtime.exchange.positions() == []


def test_a_failed_read_of_the_poll_is_a_failed_read_of_the_snapshot_and_no_fill_is_lost(
        tmp_path) -> None:
    """C5: the snapshot shows the open orders unknown (not empty) and names the failure;
    the tick reads them once, and the next tick's poll learns the fills (B7)."""
    trading = world(tmp_path, "      - max_hold: 1m")
    while not trading.runtime.store.live_orders():
        trading.run(TICK)
    trading.faults.add(FaultRule("open_orders", "http_5xx", count=1))
    assert tick_reading(trading) == 1
    snapshot = trading.runtime.service.last_snapshot
    assert snapshot is not None
    assert snapshot.open_orders is None
    assert any(failure.startswith("open orders:") for failure in snapshot.failures)
    trading.run(timedelta(minutes=4))
    [trade] = trading.trades()
    assert trade.stage is TradeStage.CLOSED
    assert all(leg.filled_qty == leg.qty == leg.closed_qty for leg in trade.legs)
