"""The service's in-memory trade history stays bounded in a long run (memory and per-tick
work stay flat), but never forgets a trade that still holds something."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.service.tracking import HISTORY, ExecutionBook
from runner.store.store import Store
from tests.scenarios.helpers_scenarios import Scenario, shipped

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CALL = "BTCUSD-27MAR26-90000-C"


def finished(trade_id: str, at: datetime, *, still_held: bool = False) -> Trade:
    leg = TradeLeg(0, CALL, Side.BUY, Decimal("0.01")).with_open_fill(Decimal("0.01"),
                                                                      Decimal(100))
    if not still_held:
        leg = leg.with_close_fill(Decimal("0.01"), Decimal(90))
    trade = Trade.create(trade_id, "demo", (leg,), at).moved_to(TradeStage.OPENING, "placed", at)
    trade = trade.moved_to(TradeStage.OPEN, "filled", at)
    trade = trade.moved_to(TradeStage.PENDING_CLOSE, "max_hold", at)
    stage = TradeStage.FAILED if still_held else TradeStage.CLOSED
    return trade.moved_to(stage, "gave up" if still_held else "closed", at)


def test_old_flat_trades_are_forgotten_and_a_trade_still_holding_is_kept(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "runner.sqlite3", ManualClock(START))
    book = ExecutionBook(store)
    book.load(START)
    book.save(finished("held", START, still_held=True), None)
    for day in range(10):
        book.save(finished(f"t{day}", START + timedelta(days=day)), None)
    now = START + timedelta(days=10)
    book.prune(now)
    kept = {t.trade_id for t in book._history("demo")}
    assert "held" in kept  # FAILED with 0.01 still held: its expiry must still be booked
    assert {f"t{day}" for day in range(10)} & kept == {
        f"t{day}" for day in range(10) if START + timedelta(days=day) >= now - HISTORY}
    assert len(kept) <= 4


def run_days_skipping_idle_time(scenario: Scenario, days: int) -> None:
    """The real loop, tick by tick while anything can happen, jumping idle time as
    `runner simulate` does (so days pass in a few hundred ticks)."""
    until = scenario.now + timedelta(days=days)
    while scenario.now < until:
        scenario.tick()
        wake = scenario.service.idle_until(scenario.now)
        if wake is not None and wake - scenario.now > timedelta(seconds=1):
            scenario.clock.set(min(wake, until))


def test_a_service_running_for_days_remembers_only_the_recent_finished_trades(
        tmp_path: Path) -> None:
    """Through the service loop (not `prune()` alone): micro_strangle trades twice a UTC
    day for four days; every trade stays in the store, but the service's in-memory
    history holds only the finished trades of the last HISTORY window, so memory and the
    per-tick state computation stay flat however long the process runs."""
    scenario = Scenario.start(tmp_path, shipped("micro_strangle"))
    try:
        run_days_skipping_idle_time(scenario, days=4)
        last_tick = scenario.now  # more than PRUNE_EVERY after the last trading tick
        scenario.tick()
        stored = scenario.trades("micro_strangle")
        remembered = scenario.service._book._history("micro_strangle")
    finally:
        scenario.close()
    assert len(stored) == 10, [t.trade_id for t in stored]  # 2 on each of 5 UTC days: all kept
    assert all(t.stage is TradeStage.CLOSED for t in stored)
    recent = {t.trade_id for t in stored if t.created_at >= last_tick - HISTORY}
    assert {t.trade_id for t in remembered} == recent
    assert len(recent) <= 6 < len(stored)
