"""A close that used up its budget keeps trying, bounded by rate (issue 7 item 8; B1, I1).

The rule (runner.execution.retry): after the phase plan (the budget) the close is not
given up while anything is held; it is marked exhausted once and renewed as rounds of
the most aggressive phase, one a minute, reduce-only, never more than is held.
"""

from __future__ import annotations

from datetime import timedelta

from runner.domain.commands import OrderPurpose
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.execution import advance, start_close
from runner.execution.retry import close_exhausted_at, is_retry_reason
from runner.strategy.model import LimitExecution
from tests.execution.helpers_execution import (
    CALL,
    T0,
    D,
    Desk,
    at,
    cancels,
    market,
    new_trade,
    opened,
    pending_close,
    places,
)

SHORT = LimitExecution(fill_timeout=timedelta(seconds=5), requote_rounds=2)
BOOK = market(CALL=("100", "102", "101"))


def held_call():
    trade = pending_close(opened(new_trade((CALL, Side.BUY, "1")), "101"), "max_hold")
    desk = Desk()
    desk.position = {CALL: D(1)}
    return trade, desk


def run_unfilled(minutes: int):
    """Nothing ever fills: the close works its budget, then retries."""
    trade, desk = held_call()
    step = start_close(trade, SHORT, "max_hold", BOOK, T0)
    steps = [step]
    events = desk.execute(step.commands)
    for second in range(1, minutes * 60 + 1):
        step = advance(step.state, step.trade, BOOK, events, at(second))
        steps.append(step)
        events = desk.execute(step.commands)
    return steps, desk


def test_an_exhausted_close_is_never_given_up_while_something_is_held():
    steps, _ = run_unfilled(minutes=5)
    last = steps[-1]
    assert last.state is not None
    assert last.trade.stage in (TradeStage.PENDING_CLOSE, TradeStage.CLOSING)
    assert all(step.trade.stage is not TradeStage.FAILED for step in steps)
    assert close_exhausted_at(last.trade) == at(16)  # the 15 s budget, then the grace tick
    exhausted = [t for t in last.trade.transitions if "used its budget" in t.reason]
    assert len(exhausted) == 1  # recorded once, not per round
    assert all(step.alerts == () for step in steps)  # the service pages, once per trade


def test_retries_are_one_round_a_minute_reduce_only_for_what_is_held():
    steps, desk = run_unfilled(minutes=10)
    orders = [p for step in steps for p in places(step)]
    budget = [p for p in orders if not is_retry_reason(p.key.reason)]
    retries = [p for p in orders if is_retry_reason(p.key.reason)]
    assert len(budget) == 1  # a flat book: no requote within the budget (B10)
    assert 9 <= len(retries) <= 10  # then at most one a minute
    assert all(p.request.reduce_only and p.request.side is Side.SELL for p in orders)
    assert all(p.request.qty == D(1) for p in orders)  # never more than is held
    assert all(p.key.purpose is OrderPurpose.CLOSE for p in orders)
    assert len({p.request.client_order_id for p in orders}) == len(orders)
    assert len(desk.live()) <= 1  # one live order per leg at any time (B2, B3)


def test_a_retry_that_fills_closes_the_trade():
    trade, desk = held_call()
    step = start_close(trade, SHORT, "max_hold", BOOK, T0)
    events = desk.execute(step.commands)
    second = 0
    while close_exhausted_at(step.trade) is None or not places(step):
        second += 1
        step = advance(step.state, step.trade, BOOK, events, at(second))
        events = desk.execute(step.commands)
    (retry,) = places(step)
    events.append(desk.fill(retry.request.client_order_id, "1"))
    step = advance(step.state, step.trade, BOOK, events, at(second + 1))
    assert step.state is None
    assert step.trade.stage is TradeStage.CLOSED
    assert step.trade.is_flat


NO_BID = market(CALL=(None, "102", "3"))


def test_a_retry_round_without_a_bid_waits_and_its_minute_starts_with_its_first_order():
    """B6: a leg without a bid is tried every tick until it has one. The retry round that
    cannot price it does not roll over each minute doing nothing: its state stays the
    same from tick to tick (a simulation may step over those ticks), and when the bid
    returns the order placed then gets the round's whole minute before it is requoted."""
    trade, desk = held_call()
    step = start_close(trade, SHORT, "max_hold", NO_BID, T0)
    events = desk.execute(step.commands)
    second = 0
    while close_exhausted_at(step.trade) is None:
        second += 1
        step = advance(step.state, step.trade, NO_BID, events, at(second))
        events = desk.execute(step.commands)
    assert places(step) == []
    waiting = step.state
    assert waiting is not None
    assert is_retry_reason(waiting.reason)
    for later in range(second + 1, second + 600):  # ten minutes without a bid
        step = advance(step.state, step.trade, NO_BID, events, at(later))
        assert step.commands == ()
        assert step.state == waiting
    bid_back = at(second + 600)
    step = advance(step.state, step.trade, BOOK, events, bid_back)
    (retry,) = places(step)
    assert retry.request.reduce_only
    assert retry.request.side is Side.SELL
    events = desk.execute(step.commands)
    for later in range(second + 601, second + 660):  # the round's minute: no requote
        step = advance(step.state, step.trade, BOOK, events, at(later))
        events = desk.execute(step.commands)
        assert step.commands == ()
    step = advance(step.state, step.trade, BOOK, events, at(second + 660))
    assert len(cancels(step)) == 1  # the minute is over: cancelled, then settled
