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
