"""The campaign audit counts a pile-up of leftovers as a violation (issue 7 item 8).

A strategy must open nothing while an older trade of it holds legs from a failed close:
a FAILED trade still holding legs, or a close that used up its budget and still retries.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.execution.retry import EXHAUSTED_KEY
from tests.crash.helpers_audit import leftovers_piled_up

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CALL = "BTCUSD-3MAR26-90000-C"


def trade(trade_id: str, minute: int, strategy: str = "micro") -> Trade:
    leg = TradeLeg(0, CALL, Side.BUY, Decimal("0.01"), filled_qty=Decimal("0.01"),
                   entry_price=Decimal(100))
    return Trade.create(trade_id, strategy, (leg,), T0 + timedelta(minutes=minute))


def failed_holding(trade_id: str, minute: int) -> Trade:
    t = trade(trade_id, minute).moved_to(TradeStage.OPENING, "placed", T0)
    t = t.moved_to(TradeStage.OPEN, "filled", T0).moved_to(TradeStage.PENDING_CLOSE, "exit", T0)
    return t.moved_to(TradeStage.FAILED, "gave up", T0 + timedelta(minutes=minute + 1))


def exhausted(trade_id: str, minute: int, closed_minute: int | None) -> Trade:
    t = trade(trade_id, minute)
    at = (T0 + timedelta(minutes=minute + 1)).isoformat()
    t = replace(t, metadata=((EXHAUSTED_KEY, at),))
    if closed_minute is not None:
        t = replace(t, stage=TradeStage.CLOSED,
                    closed_at=T0 + timedelta(minutes=closed_minute))
    return t


def test_a_newer_trade_of_the_strategy_after_a_failed_close_that_holds_legs_is_a_violation():
    trades = [failed_holding("old", 0), trade("new", 5), trade("other", 6, strategy="rfqe")]
    (problem,) = leftovers_piled_up(trades)
    assert "['new']" in problem
    assert "old" in problem


def test_a_newer_trade_while_an_exhausted_close_retries_is_a_violation_until_it_closed():
    trades = [exhausted("old", 0, closed_minute=10), trade("during", 5), trade("after", 11)]
    (problem,) = leftovers_piled_up(trades)
    assert "['during']" in problem


def test_a_failed_close_settled_at_expiry_counted_until_its_expiry():
    """The old rule's trace: FAILED after it opened, flat only because expiry settled it."""
    old = failed_holding("old", 0)
    settled = replace(old, legs=(replace(old.legs[0], closed_qty=Decimal("0.01")),))
    after_expiry = trade("next-day", 60 * 24)
    (problem,) = leftovers_piled_up([settled, trade("same-day", 30), after_expiry])
    assert "['same-day']" in problem


def test_trades_before_the_failure_or_of_flat_failures_are_no_violation():
    never_opened = Trade.create("unwound", "micro", (replace(
        trade("x", 0).legs[0], filled_qty=Decimal(0)),), T0).moved_to(
        TradeStage.FAILED, "open failed; nothing was filled", T0)
    assert leftovers_piled_up([trade("before", 0), failed_holding("old", 1)]) == []
    assert leftovers_piled_up([never_opened, trade("later", 9)]) == []
