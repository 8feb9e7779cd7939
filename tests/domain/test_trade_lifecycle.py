"""The trade stage table and fill accounting (lessons B7, E5, I1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.orders import Side
from runner.domain.trades import IllegalTransition, Trade, TradeLeg, TradeStage

AT = datetime(2026, 3, 2, 10, tzinfo=UTC)


def new_trade() -> Trade:
    legs = (TradeLeg(0, "BTCUSD-3MAR26-95000-C", Side.BUY, Decimal(1)),
            TradeLeg(1, "BTCUSD-3MAR26-80000-P", Side.SELL, Decimal(1)))
    return Trade.create("t1", "demo", legs, AT)


def test_a_new_trade_is_pending_open_with_its_first_transition_recorded() -> None:
    trade = new_trade()
    assert trade.stage is TradeStage.PENDING_OPEN
    assert [t.to_stage for t in trade.transitions] == [TradeStage.PENDING_OPEN]


def test_every_transition_is_recorded_with_its_reason_and_time() -> None:
    later = AT + timedelta(seconds=5)
    trade = new_trade().moved_to(TradeStage.OPENING, "orders placed", AT)
    trade = trade.moved_to(TradeStage.OPEN, "all legs filled", later)
    assert trade.opened_at == later
    assert trade.transitions[-1].reason == "all legs filled"
    assert trade.transitions[-1].from_stage is TradeStage.OPENING


def test_an_illegal_transition_raises() -> None:
    with pytest.raises(IllegalTransition, match="pending_open -> closing"):
        new_trade().moved_to(TradeStage.CLOSING, "nonsense", AT)


def test_terminal_stages_allow_nothing_and_stamp_the_close_time() -> None:
    failed = new_trade().moved_to(TradeStage.FAILED, "no price", AT)
    assert failed.closed_at == AT
    with pytest.raises(IllegalTransition):
        failed.moved_to(TradeStage.OPENING, "retry", AT)


def test_fills_accumulate_across_requotes_at_the_weighted_average_price() -> None:
    """B7: fill 0.3 of 1.0, requote, fill 0.4: the leg shows 0.7 at the weighted average."""
    leg = TradeLeg(0, "X", Side.BUY, Decimal(1))
    leg = leg.with_open_fill(Decimal("0.3"), Decimal(100))
    leg = leg.with_open_fill(Decimal("0.4"), Decimal(107))
    assert leg.filled_qty == Decimal("0.7")
    assert leg.entry_price == Decimal(104)
    assert leg.unfilled_qty == Decimal("0.3")


def test_partial_closes_accumulate_and_the_remainder_is_what_is_still_held() -> None:
    """I1: four partial close rounds; the next request always equals the open remainder."""
    leg = TradeLeg(0, "X", Side.SELL, Decimal(1)).with_open_fill(Decimal(1), Decimal(50))
    for _ in range(4):
        leg = leg.with_close_fill(Decimal("0.2"), Decimal(40))
    assert leg.open_qty == Decimal("0.2")
    with pytest.raises(ValueError, match="exceeds"):
        leg.with_close_fill(Decimal("0.3"), Decimal(40))


def test_realized_pnl_is_signed_by_side_and_fees_are_kept_apart() -> None:
    """E6: net = gross - fees."""
    trade = new_trade()
    trade = trade.with_leg(trade.legs[0].with_open_fill(Decimal(1), Decimal(100), Decimal(1))
                           .with_close_fill(Decimal(1), Decimal(130), Decimal(1)))
    trade = trade.with_leg(trade.legs[1].with_open_fill(Decimal(1), Decimal(80), Decimal(1))
                           .with_close_fill(Decimal(1), Decimal(90), Decimal(1)))
    assert trade.entry_cost() == Decimal(20)
    assert trade.realized_pnl() == Decimal(20)  # +30 on the call, -10 on the short put
    assert trade.fees() == Decimal(4)
    assert trade.is_flat


def test_the_first_exit_reason_is_kept() -> None:
    """E5: the reason is recorded when the rule fires; a later rule never overwrites it."""
    trade = new_trade().with_exit_reason("stop_loss").with_exit_reason("max_hold")
    assert trade.exit_reason == "stop_loss"
