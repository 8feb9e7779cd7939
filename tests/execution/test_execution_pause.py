"""The close budget pauses while an order's outcome is unknown (issue 7 item 8; D2, D3, B1).

A 5 s fill timeout with 2 requote rounds gives a close 15 s. Its first order's answer is
lost: the dispatcher needs the 30 s missing-order grace to learn that it was never
placed. That wait costs no budget: the leg is placed again afterwards in the same round,
and the close is not given up. The pause is bounded, so an order that stays unknown for
ever cannot keep the budget from ending (B1).
"""

from __future__ import annotations

from datetime import timedelta

from runner.domain.commands import OrderOutcomeUnknown, OrderRejected
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.execution import advance, budget_spent, start_close
from runner.execution.pause import MAX_PAUSE
from runner.strategy.model import LimitExecution
from tests.execution.helpers_execution import (
    CALL,
    T0,
    at,
    market,
    new_trade,
    opened,
    pending_close,
    places,
)

SHORT = LimitExecution(fill_timeout=timedelta(seconds=5), requote_rounds=2)
BOOK = market(CALL=("100", "102", "101"))


def lost_close():
    trade = pending_close(opened(new_trade((CALL, Side.BUY, "1")), "101"), "max_hold")
    step = start_close(trade, SHORT, "max_hold", BOOK, T0)
    (order,) = places(step)
    cid = order.request.client_order_id
    return advance(step.state, step.trade, BOOK, [OrderOutcomeUnknown(cid)], at(1)), cid


def test_waiting_for_the_missing_order_grace_uses_none_of_the_close_budget():
    step, cid = lost_close()
    for second in range(2, 31):
        step = advance(step.state, step.trade, BOOK, [], at(second))
        assert places(step) == []
        assert step.trade.stage is TradeStage.CLOSING
        assert step.state is not None
        assert not budget_spent(step.state, at(second))
    never_placed = OrderRejected(cid, None, "not on the exchange 30 s after sending: never"
                                            " placed")
    step = advance(step.state, step.trade, BOOK, [never_placed], at(31))
    placed = []
    for second in range(32, 40):
        step = advance(step.state, step.trade, BOOK, [], at(second))
        placed += places(step)
    assert len(placed) == 1  # the leg is placed again, well inside its budget
    assert placed[0].request.reduce_only
    assert step.trade.stage is TradeStage.CLOSING


def test_an_order_unknown_for_ever_pauses_the_budget_at_most_max_pause():
    step, _ = lost_close()
    end = 1 + int(MAX_PAUSE.total_seconds()) + 15 + 2
    for second in range(2, end + 1):
        step = advance(step.state, step.trade, BOOK, [], at(second))
        if step.state is not None and step.state.limit is not None \
                and step.state.limit.exhausted_at is not None:
            break
    assert step.state is not None
    assert step.state.limit is not None
    assert step.state.limit.exhausted_at is not None
    assert step.state.limit.exhausted_at <= at(end)
    assert step.state.limit.paused == MAX_PAUSE
