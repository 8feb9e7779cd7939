"""Closing by limit orders: best effort per leg, reduce-only, never more than held, bounded."""

from __future__ import annotations

from datetime import timedelta

from runner.domain.commands import CancelOrder, OrderPurpose
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.execution import advance, start_close
from runner.strategy.model import (
    LimitExecution,
    Phase,
    PhasedLimitExecution,
    PriceReference,
)
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
    opened,
    pending_close,
    places,
)

FAST = LimitExecution(fill_timeout=timedelta(seconds=30), requote_rounds=1)
BOOK = market(CALL=("100", "102", "101"), PUT=("50", "52", "51"))
PUT_WITHOUT_BIDS = market(CALL=("100", "102", "101"), PUT=(None, "52", "51"))


def long_strangle(qty: str = "1"):
    trade = new_trade((CALL, Side.BUY, qty), (PUT, Side.BUY, qty))
    return pending_close(opened(trade, "101", "51"), "max_hold")


def held_desk(trade) -> Desk:
    desk = Desk()
    desk.position = {leg.symbol: leg.side.sign * leg.open_qty for leg in trade.legs}
    return desk


def test_close_orders_are_reduce_only_for_the_held_qty_in_the_closing_direction():
    step = start_close(long_strangle("0.5"), FAST, "max_hold", BOOK, T0)
    call, put = places(step)
    assert [call.request.side, put.request.side] == [Side.SELL, Side.SELL]
    assert [call.request.qty, put.request.qty] == [D("0.5"), D("0.5")]
    assert call.request.reduce_only
    assert put.request.reduce_only
    assert call.key.purpose is OrderPurpose.CLOSE
    assert call.key.reason == "max_hold"
    assert step.trade.stage is TradeStage.CLOSING


def test_a_put_without_bids_never_blocks_the_call_and_never_builds_a_short():
    """B1: the call closes, the put is retried every tick, no net short at any moment;
    after the bounded rounds the close is marked exhausted, says what is still held, and
    goes on retrying (never abandoned: runner.execution.retry)."""
    trade = long_strangle()
    desk = held_desk(trade)
    step = start_close(trade, FAST, "max_hold", PUT_WITHOUT_BIDS, T0)
    (call,) = places(step)
    assert call.request.symbol == CALL
    steps = drive(step, desk, [(at(s), PUT_WITHOUT_BIDS) for s in range(5, 130, 5)],
                  fills={at(5): [(call.request.client_order_id, "1")]})
    retried = [s for s in steps[1:-1] if any("not priced" in n and PUT in n for n in s.notes)]
    assert len(retried) >= 20  # the put is tried again on every tick, before and after
    assert len(desk.placed) == 1  # only the call ever had an order
    assert min(desk.worst_position.values()) >= 0
    final = steps[-1]
    assert final.state is not None  # still working
    assert final.trade.stage is TradeStage.PENDING_CLOSE
    assert final.trade.legs[0].open_qty == 0
    assert final.trade.legs[1].open_qty == D(1)
    (exhausted,) = [t for t in final.trade.transitions if "used its budget" in t.reason]
    assert PUT in exhausted.reason
    assert exhausted.at == at(65)  # 2 rounds of 30 s, then the grace tick


def test_the_leg_that_could_not_be_priced_is_placed_as_soon_as_it_can_be():
    """B6: close = best effort per leg; the skipped leg is retried and then closes."""
    trade = long_strangle()
    desk = held_desk(trade)
    step = start_close(trade, FAST, "max_hold", PUT_WITHOUT_BIDS, T0)
    steps = drive(step, desk, [(at(5), PUT_WITHOUT_BIDS), (at(10), BOOK)])
    (put,) = places(steps[-1])
    assert put.request.symbol == PUT
    assert put.request.qty == D(1)
    assert put.request.reduce_only


def test_placing_the_close_ten_times_in_one_tick_leaves_one_order():
    """B2: the same close asked for ten times: one order, whatever the caller does."""
    trade = long_strangle()
    desk = held_desk(trade)
    repeated = [start_close(trade, FAST, "max_hold", BOOK, T0) for _ in range(10)]
    for step in repeated:
        desk.execute(step.commands)
    assert len(desk.placed) == 2  # one per leg: every repeat derived the same client ids
    step = repeated[0]
    for _ in range(10):
        step = advance(step.state, step.trade, BOOK, [], at(1))
        assert places(step) == []


def test_no_second_set_of_close_orders_while_the_first_is_unanswered():
    """B3: fill reports are delayed: ticks pass, no new close order appears."""
    trade = long_strangle()
    step = start_close(trade, FAST, "max_hold", BOOK, T0)
    placed = len(places(step))
    for second in range(1, 59):
        step = advance(step.state, step.trade, BOOK, [], at(second))
        placed += len(places(step))
    assert placed == 2


def test_a_stop_loss_cancels_the_resting_take_profit_and_goes_near_the_market():
    """B4: a TP buy rests at 10 % of the premium; the SL fires: the TP is cancelled at
    once and the SL order, keyed by its own reason, is placed as soon as the cancel is
    confirmed (the next tick), sized from what the TP had filled."""
    short_put = pending_close(opened(new_trade((PUT, Side.SELL, "1")), "100"), "take_profit")
    book = market(PUT=("140", "150", "145"))
    resting = PhasedLimitExecution(phases=(Phase(timedelta(hours=1), timedelta(hours=1),
                                                 PriceReference.MARK, D(-90)),))
    desk = held_desk(short_put)
    tp = start_close(short_put, resting, "take_profit", book, T0)
    (tp_order,) = places(tp)
    assert tp_order.request.price == D(14)  # 145 x 0.1 on the tick: far from the market
    desk.execute(tp.commands)
    partial = desk.fill(tp_order.request.client_order_id, "0.4")
    tp = advance(tp.state, tp.trade, book, [partial], at(5))
    sl = start_close(tp.trade, LimitExecution(), "stop_loss", book, at(10), previous=tp.state)
    assert [type(c) for c in sl.commands] == [CancelOrder]
    assert sl.commands[0].client_order_id == tp_order.request.client_order_id
    assert sl.trade.transitions[-1].reason == "close superseded by stop_loss"
    assert sl.trade.stage is TradeStage.PENDING_CLOSE
    confirmed = desk.execute(sl.commands)
    nxt = advance(sl.state, sl.trade, book, confirmed, at(11))
    (sl_order,) = places(nxt)
    assert sl_order.key.reason == "stop_loss"
    assert sl_order.request.side is Side.BUY
    assert sl_order.request.qty == D("0.6")
    assert sl_order.request.price == D(153)  # 150 x 1.02: near the market
    assert sl_order.request.reduce_only
    assert nxt.trade.legs[0].closed_qty == D("0.4")


def test_four_partial_close_rounds_each_ask_for_exactly_the_open_remainder():
    """I1: closed qty per leg is the sum of every close fill ever; each new request is
    the remainder, never more than is held."""
    trade = pending_close(opened(new_trade((CALL, Side.BUY, "1")), "101"), "max_hold")
    desk = held_desk(trade)
    rounds = LimitExecution(fill_timeout=timedelta(seconds=10), requote_rounds=5)
    books = [market(CALL=(str(100 - 5 * k), str(102 - 5 * k), "101")) for k in range(6)]
    step = start_close(trade, rounds, "max_hold", books[0], T0)
    requested = [places(step)[0].request.qty]
    fills = ["0.1", "0.2", "0.3", "0.4"]
    for k, qty in enumerate(fills):
        cid = places(step)[0].request.client_order_id
        step = advance(step.state, step.trade, books[k], [*desk.execute(step.commands),
                                                          desk.fill(cid, qty)], at(10 * k + 5))
        if k == len(fills) - 1:
            break
        step = advance(step.state, step.trade, books[k + 1], [], at(10 * k + 10))  # new round
        assert len(cancels(step)) == 1
        step = advance(step.state, step.trade, books[k + 1], desk.execute(step.commands),
                       at(10 * k + 11))
        requested.append(places(step)[0].request.qty)
        assert requested[-1] == step.trade.legs[0].open_qty
    assert requested == [D(1), D("0.9"), D("0.7"), D("0.4")]
    assert step.state is None
    assert step.trade.stage is TradeStage.CLOSED
    assert step.trade.legs[0].closed_qty == D(1)
    assert desk.position[CALL] == 0


def test_closing_a_trade_that_holds_nothing_closes_it_without_orders():
    trade = new_trade((CALL, Side.BUY, "1"))
    trade = trade.moved_to(TradeStage.OPENING, "x", T0).moved_to(TradeStage.OPEN, "y", T0)
    step = start_close(pending_close(trade, "max_hold"), FAST, "max_hold", BOOK, T0)
    assert step.commands == ()
    assert step.trade.stage is TradeStage.CLOSED


def test_a_close_that_fills_completely_ends_closed_with_exit_prices():
    trade = long_strangle()
    desk = held_desk(trade)
    step = start_close(trade, FAST, "max_hold", BOOK, T0)
    ids = [p.request.client_order_id for p in places(step)]
    steps = drive(step, desk, [(at(5), BOOK)], fills={at(5): [(ids[0], "1"), (ids[1], "1")]})
    final = steps[-1]
    assert final.state is None
    assert final.trade.stage is TradeStage.CLOSED
    assert [leg.exit_price for leg in final.trade.legs] == [D(99), D(50)]


def test_a_cancelled_order_whose_final_report_was_lost_is_taken_as_final_once_gone():
    """After a crash the last report of a cancelled order may never come again; once the
    exchange's open orders have not shown it for a while it counts as final (its fills
    are credited from the ledger by recovery), so the close is not stuck."""
    from dataclasses import replace as changed

    trade = pending_close(opened(new_trade((CALL, Side.BUY, "1")), "101"), "max_hold")
    desk = held_desk(trade)
    patient = LimitExecution(fill_timeout=timedelta(seconds=30), requote_rounds=5)
    step = start_close(trade, patient, "max_hold", BOOK, T0)
    moved = market(CALL=("90", "92", "91"))
    step = advance(step.state, step.trade, moved, desk.execute(step.commands), at(30))
    assert len(cancels(step)) == 1  # the requote's cancel; its report is lost
    desk.execute(step.commands)
    read = changed(moved, open_orders=())
    waiting = advance(step.state, step.trade, read, [], at(50))
    assert places(waiting) == []
    unread = advance(waiting.state, waiting.trade, moved, [], at(70))  # read failed: wait
    assert places(unread) == []
    resumed = advance(unread.state, unread.trade, read, [], at(70))
    assert any("taken as final" in note for note in resumed.notes)
    assert places(resumed)[0].request.qty == D(1)
