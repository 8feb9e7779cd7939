"""Lesson E7: the entry index an `index_move` exit measures from is the index at the fill
(the tick that moved the trade to OPEN), not the index when the trade was decided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.execution.entry_index import with_entry_index_at_open
from runner.service.tick_report import TickReport
from tests.scenarios.helpers_scenarios import Scenario, shipped

DECIDED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FILLED = DECIDED + timedelta(seconds=40)
CALL = "BTCUSD-27MAR26-90000-C"
AT_DECISION, AT_FILL = Decimal(87_000), Decimal(88_200)


def decided() -> Trade:
    leg = TradeLeg(0, CALL, Side.BUY, Decimal(1))
    trade = Trade.create("t1", "demo", (leg,), DECIDED, index_at_entry=AT_DECISION)
    return trade.moved_to(TradeStage.OPENING, "orders placed", DECIDED)


def filled(trade: Trade) -> Trade:
    return trade.with_leg(trade.legs[0].with_open_fill(Decimal(1), Decimal(100))).moved_to(
        TradeStage.OPEN, "all legs filled", FILLED)


def market(index: Decimal | None) -> MarketSnapshot:
    return MarketSnapshot(at=FILLED, index_prices={} if index is None
                          else {Underlying.BTC: index})


def test_E7_the_step_that_opens_the_trade_records_the_index_of_its_tick() -> None:
    before = decided()
    after = with_entry_index_at_open(before, filled(before), market(AT_FILL), Underlying.BTC)
    assert after.index_at_entry == AT_FILL


def test_E7_a_step_that_does_not_open_the_trade_leaves_the_entry_index_alone() -> None:
    still_opening = decided()
    assert with_entry_index_at_open(still_opening, still_opening, market(AT_FILL)) \
        .index_at_entry == AT_DECISION
    opened = filled(decided())
    closing = opened.moved_to(TradeStage.PENDING_CLOSE, "max_hold", FILLED)
    assert with_entry_index_at_open(opened, closing, market(Decimal(90_000))) \
        .index_at_entry == AT_DECISION  # later ticks never move it again


def test_E7_without_an_index_at_the_fill_the_decision_index_is_kept() -> None:
    """A stale or unreadable index at the fill tick: the nearest reading we have stays."""
    before = decided()
    after = with_entry_index_at_open(before, filled(before), market(None), Underlying.BTC)
    assert after.index_at_entry == AT_DECISION
    assert after.stage is TradeStage.OPEN


def test_E7_through_the_service_the_index_at_entry_is_the_fill_tick_index(tmp_path) -> None:
    """The index jumps 1 % between the tick that decides micro_strangle's trade and the tick
    that sees its fills: the stored trade carries the fill tick's index."""
    scenario = Scenario.start(tmp_path, shipped("micro_strangle"))
    seen: dict[datetime, Decimal | None] = {}

    def jump_after_the_decision(s: Scenario, report: TickReport | None) -> None:
        snapshot = s.service.last_snapshot
        seen[s.now] = snapshot.index_price(Underlying.BTC) if snapshot else None
        if report is not None and report.opened and len(s.trades()) == 1:
            s.venue.move_index(Underlying.BTC, Decimal(1))  # between decision and fill

    try:
        scenario.run_for(timedelta(seconds=8), probe=jump_after_the_decision)
        (trade, *_) = scenario.trades()
    finally:
        scenario.close()
    assert trade.opened_at is not None
    assert trade.opened_at > trade.created_at
    at_decision, at_fill = seen[trade.created_at], seen[trade.opened_at]
    assert at_decision is not None
    assert at_fill is not None
    assert abs(at_fill - at_decision) > at_decision / 200  # the 1 % jump in between
    assert trade.index_at_entry == at_fill
