"""Opening by limit orders: atomic open, requotes, partial fills, grace tick, unwind."""

from __future__ import annotations

from datetime import timedelta

from runner.domain.commands import OrderPurpose
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.execution import advance, start_open
from runner.strategy.model import LimitExecution
from tests.execution.helpers_execution import (
    CALL,
    PUT,
    T0,
    D,
    Desk,
    at,
    cancels,
    drive,
    market,
    new_trade,
    places,
)

FAST = LimitExecution(fill_timeout=timedelta(seconds=30), requote_rounds=1)
BOOK = market(CALL=("100", "102", "101"), PUT=("50", "52", "51"))


def strangle(qty: str = "1"):
    return new_trade((CALL, Side.BUY, qty), (PUT, Side.BUY, qty))


def ticks(start: int, stop: int, step: int = 10, snapshot=BOOK):
    return [(at(s), snapshot) for s in range(start, stop + 1, step)]


def test_a_buy_is_priced_at_the_ask_plus_buffer_and_a_sell_at_the_bid_less_buffer_on_the_tick():
    trade = new_trade((CALL, Side.BUY, "1"), (PUT, Side.SELL, "1"))
    snapshot = market(CALL=("100", "103", "101"), PUT=("100", "104", "101"))
    step = start_open(trade, LimitExecution(), snapshot, T0)
    buy, sell = places(step)
    assert buy.request.price == D(105)  # 103 x 1.02 = 105.06, buys round down
    assert sell.request.price == D(99)  # 100 / 1.02 = 98.04, sells round up
    assert not buy.request.reduce_only
    assert not sell.request.reduce_only
    assert step.trade.stage is TradeStage.OPENING
    assert step.trade.execution == "limit"


def test_every_leg_is_priced_before_any_order_is_placed():
    """B1: the put has no ask: no order at all, the trade does not open."""
    snapshot = market(CALL=("100", "102", "101"), PUT=("50", None, "51"))
    step = start_open(strangle(), LimitExecution(), snapshot, T0)
    assert step.commands == ()
    assert step.state is None
    assert step.trade.stage is TradeStage.FAILED
    assert "no aggressive price to buy" in step.trade.transitions[-1].reason


def test_all_legs_filled_opens_the_trade_with_fill_prices_present():
    """E4: the OPEN transition happens only with every fill price known."""
    desk = Desk()
    step = start_open(strangle(), FAST, BOOK, T0)
    call_id, put_id = (p.request.client_order_id for p in places(step))
    steps = drive(step, desk, ticks(10, 20),
                  fills={at(10): [(call_id, "1")], at(20): [(put_id, "1")]})
    final = steps[-1]
    assert final.state is None
    assert final.trade.stage is TradeStage.OPEN
    assert all(leg.entry_price is not None for leg in final.trade.legs)
    assert "104" in final.trade.transitions[-1].reason  # the call's fill price, in words


def test_a_partial_fill_is_kept_and_only_the_remainder_is_requoted_under_a_new_client_id():
    """B7: fill 0.3 of 1.0, requote, fill 0.4: the leg shows 0.7 at the weighted average."""
    desk = Desk()
    trade = new_trade((CALL, Side.BUY, "1"))
    step = start_open(trade, FAST, BOOK, T0)
    first = places(step)[0].request
    moved = market(CALL=("105", "107", "106"))
    steps = drive(step, desk, [(at(10), BOOK), (at(30), moved), (at(31), moved)],
                  fills={at(10): [(first.client_order_id, "0.3")]})
    assert [c.client_order_id for c in cancels(steps[2])] == [first.client_order_id]
    replacement = places(steps[3])[0].request
    assert replacement.qty == D("0.7")
    assert replacement.client_order_id != first.client_order_id
    assert replacement.price == D(109)  # 107 x 1.02 = 109.14
    state = steps[3].state
    last = advance(state, steps[3].trade, moved,
                   [desk.fill(replacement.client_order_id, "0.4")], at(35))
    leg = last.trade.legs[0]
    assert leg.filled_qty == D("0.7")
    assert leg.entry_price == (D("0.3") * 104 + D("0.4") * 109) / D("0.7")


def test_a_cumulative_order_view_seen_twice_is_credited_once():
    """B7: OrderUpdated carries the order's cumulative fill; only the increase counts."""
    desk = Desk()
    step = start_open(new_trade((CALL, Side.BUY, "1")), FAST, BOOK, T0)
    desk.execute(step.commands)
    cid = places(step)[0].request.client_order_id
    seen = desk.fill(cid, "0.5")
    once = advance(step.state, step.trade, BOOK, [seen], at(5))
    twice = advance(once.state, once.trade, BOOK, [seen, seen], at(6))
    assert twice.trade.legs[0].filled_qty == D("0.5")


def test_a_flat_book_is_not_requoted_at_a_round_boundary():
    """B10: the fresh price equals the working one: no cancel and replace."""
    desk = Desk()
    step = start_open(strangle(), FAST, BOOK, T0)
    steps = drive(step, desk, ticks(10, 50))
    assert all(not cancels(s) and not places(s) for s in steps[1:])


def test_an_open_without_any_fill_fails_after_its_rounds_and_places_nothing_more():
    desk = Desk()
    step = start_open(strangle(), FAST, BOOK, T0)
    steps = drive(step, desk, ticks(10, 80))
    assert len(desk.placed) == 2
    exhausted = next(s for s in steps if cancels(s))
    assert len(cancels(exhausted)) == 2
    final = steps[-1]
    assert final.state is None
    assert final.trade.stage is TradeStage.FAILED
    assert "nothing filled" in final.trade.transitions[-1].reason


def test_one_leg_filled_and_the_other_exhausted_unwinds_exactly_the_filled_qty_reduce_only():
    """B1: atomic open; the filled call (0.4 of 1) is traded back, reduce-only, 0.4 exactly."""
    desk = Desk()
    step = start_open(strangle(), FAST, BOOK, T0)
    call_id = places(step)[0].request.client_order_id
    steps = drive(step, desk, ticks(10, 70), fills={at(10): [(call_id, "0.4")]})
    unwinding = next(s for s in steps if s.trade.stage is TradeStage.PENDING_CLOSE
                     or s.trade.stage is TradeStage.CLOSING)
    (unwind,) = places(unwinding)
    assert unwind.key.purpose is OrderPurpose.UNWIND
    assert unwind.request.reduce_only
    assert unwind.request.side is Side.SELL
    assert unwind.request.symbol == CALL
    assert unwind.request.qty == D("0.4")
    assert unwinding.alerts  # an operator hears about a failed open with fills
    assert "open failed" in unwinding.trade.transitions[-2].reason
    final = advance(unwinding.state, unwinding.trade, BOOK,
                    [desk.fill(unwind.request.client_order_id, "0.4")], at(80))
    assert final.state is None
    assert final.trade.stage is TradeStage.FAILED
    assert final.trade.is_flat
    assert desk.position[CALL] == 0


def test_a_fill_reported_one_tick_after_exhaustion_is_credited_and_nothing_is_unwound():
    """B8: the grace tick: the put's fill arrives late at the boundary: the trade opens."""
    desk = Desk()
    step = start_open(strangle(), FAST, BOOK, T0)
    call_id, put_id = (p.request.client_order_id for p in places(step))
    steps = drive(step, desk, ticks(10, 60), fills={at(10): [(call_id, "1")]})
    assert steps[-1].state is not None  # exhausted at 60 s: cancels out, deciding later
    assert cancels(steps[-1])
    # the exchange had filled the put before the cancel; the report arrives a tick late
    late = desk.fill(put_id, "1")
    final = advance(steps[-1].state, steps[-1].trade, BOOK, [late], at(61))
    assert final.trade.stage is TradeStage.OPEN
    assert final.commands == ()
    assert all(leg.is_filled for leg in final.trade.legs)


def test_exhaustion_waits_one_more_tick_even_with_no_order_working():
    """B8: the decision is never taken in the tick that found the budget spent."""
    desk = Desk()
    step = start_open(new_trade((CALL, Side.BUY, "1")), FAST, BOOK, T0)
    cid = places(step)[0].request.client_order_id
    desk.execute(step.commands)
    cancelled = desk.cancel_on_exchange(cid)  # cancelled by someone else, nothing filled
    no_ask = market(CALL=("100", None, "101"))  # and nothing to re-place it at since
    mid = advance(step.state, step.trade, no_ask, cancelled, at(10))
    at_end = advance(mid.state, mid.trade, no_ask, [], at(60))
    assert places(mid) == []
    assert at_end.state is not None
    assert at_end.trade.stage is TradeStage.OPENING
    final = advance(at_end.state, at_end.trade, no_ask, [], at(61))
    assert final.trade.stage is TradeStage.FAILED


def test_a_rejected_order_is_not_retried_before_the_next_requote_time():
    from runner.domain.commands import OrderRejected

    step = start_open(new_trade((CALL, Side.BUY, "1")), FAST, BOOK, T0)
    cid = places(step)[0].request.client_order_id
    after = advance(step.state, step.trade, BOOK, [OrderRejected(cid, 10004, "bad")], at(5))
    assert places(after) == []
    assert any("rejected" in note for note in after.notes)
    later = advance(after.state, after.trade, BOOK, [], at(35))
    assert len(places(later)) == 1
    assert places(later)[0].request.client_order_id != cid


def test_a_fill_recovery_already_credited_is_not_counted_again_when_its_report_arrives():
    """I2: after a restart the store credits fills from the ledger; the executor's later
    view of the same cumulative fill adds nothing."""
    desk = Desk()
    step = start_open(new_trade((CALL, Side.BUY, "1")), FAST, BOOK, T0)
    desk.execute(step.commands)
    cid = places(step)[0].request.client_order_id
    recovered = step.trade.with_leg(step.trade.legs[0].with_open_fill(D("0.6"), D(104)))
    seen = desk.fill(cid, "0.6")
    after = advance(step.state, recovered, BOOK, [seen], at(5))
    assert after.trade.legs[0].filled_qty == D("0.6")
    more = advance(after.state, after.trade, BOOK, [desk.fill(cid, "0.4")], at(6))
    assert more.trade.legs[0].filled_qty == D(1)
    assert more.trade.stage is TradeStage.OPEN
