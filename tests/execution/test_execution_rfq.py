"""RFQ execution: judging quotes against the book, accepting, timing out, falling back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runner.domain.commands import (
    AcceptQuote,
    CancelRfq,
    CreateRfq,
    OrderPurpose,
    PlaceOrder,
    RfqFailed,
)
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.execution import advance, start_close, start_open
from runner.execution.rfq import best_acceptable, book_cost, judge_quotes
from runner.execution.state import RfqStage
from runner.strategy.model import AutoExecution, LimitExecution, RfqExecution
from tests.execution.helpers_execution import (
    CALL,
    PUT,
    T0,
    D,
    Desk,
    at,
    make_quote,
    market,
    new_trade,
    opened,
    pending_close,
    places,
    rfq_legs,
)

BOOK = market(CALL=("100", "102", "101"), PUT=("50", "52", "51"))
RFQ = RfqExecution(timeout=timedelta(seconds=60))
BUY, SELL = Side.BUY, Side.SELL


def strangle(side: Side = BUY, qty: str = "0.5"):
    return new_trade((CALL, side, qty), (PUT, side, qty))


# Buying the 0.5 strangle on the book costs 0.5 x (102 + 52) = 77; selling it gets 75.
BUY_BETTER = (("q-buy-better", ((CALL, SELL, "99.96", "0.5"), (PUT, SELL, "50.96", "0.5"))))
BUY_WORSE = (("q-buy-worse", ((CALL, SELL, "104.04", "0.5"), (PUT, SELL, "53.04", "0.5"))))
SELL_BETTER = (("q-sell-better", ((CALL, BUY, "102", "0.5"), (PUT, BUY, "51", "0.5"))))
SELL_WORSE = (("q-sell-worse", ((CALL, BUY, "98", "0.5"), (PUT, BUY, "49", "0.5"))))


def quotes(*made, request_id: str = "r1"):
    return tuple(make_quote(qid, request_id, *legs) for qid, legs in made)


@pytest.mark.parametrize(("side", "better", "worse"), [
    (BUY, BUY_BETTER, BUY_WORSE),
    (SELL, SELL_BETTER, SELL_WORSE),
])
def test_only_quotes_better_than_the_book_are_accepted_at_minimum_zero(side, better, worse):
    """B14: 2 % better and 2 % worse, buying and selling: one sign, the better one only."""
    step = start_open(strangle(side), RFQ, BOOK, T0)
    wanted = step.state.rfq.wanted
    judged = judge_quotes(quotes(better, worse), wanted, book_cost(wanted, BOOK), T0)
    by_id = {j.quote.quote_id: j.improvement for j in judged}
    assert by_id[better[0]] == D(2)
    assert by_id[worse[0]] == D(-2)
    chosen = best_acceptable(judged, D(0))
    assert chosen is not None
    assert chosen.quote.quote_id == better[0]
    assert best_acceptable([j for j in judged if j.quote.quote_id == worse[0]], D(0)) is None


@pytest.mark.parametrize(("legs", "action", "expected"), [
    (BUY, BUY, "77"),  # buy the structure: every leg at the ask
    (BUY, SELL, "-75"),  # sell it: every leg at the bid
    (SELL, BUY, "-75"),  # legs written as sells, traded as written: bids
    (SELL, SELL, "77"),  # sold-leg structure sold: reversed to buys, asks
])
def test_the_book_baseline_takes_the_side_each_leg_is_really_traded_on(legs, action, expected):
    """B15: the four combinations of structure side and action."""
    step = start_open(strangle(legs), RfqExecution(action=action), BOOK, T0)
    assert book_cost(step.state.rfq.wanted, BOOK) == D(expected)


def test_a_better_quote_is_accepted_and_every_leg_fills_at_the_block_prices_with_fees():
    """B14, E6: accepted at once; OPEN with the block-trade prices and fees."""
    desk = Desk(quotes=quotes(BUY_WORSE, BUY_BETTER))
    step = start_open(strangle(), RFQ, BOOK, T0)
    assert step.trade.stage is TradeStage.OPENING
    assert step.trade.execution == "rfq"
    created = desk.execute(step.commands)
    step = advance(step.state, step.trade, BOOK, [*created, desk.quote_event("r1")], at(10))
    (accept,) = step.commands
    assert isinstance(accept, AcceptQuote)
    assert accept.quote_id == "q-buy-better"
    assert accept.expected_cost == D("75.46")
    done = advance(step.state, step.trade, BOOK, desk.execute(step.commands), at(11))
    assert done.state is None
    assert done.trade.stage is TradeStage.OPEN
    assert [leg.entry_price for leg in done.trade.legs] == [D("99.96"), D("50.96")]
    assert done.trade.fees() == D(1)


def test_no_acceptable_quote_by_the_timeout_cancels_the_request_and_falls_back_to_limit():
    desk = Desk(quotes=quotes(BUY_WORSE))
    step = start_open(strangle(), RFQ, BOOK, T0)
    events = desk.execute(step.commands)
    for second in (10, 30, 50):
        step = advance(step.state, step.trade, BOOK, [*events, desk.quote_event("r1")],
                       at(second))
        events = []
        assert step.commands == ()
    step = advance(step.state, step.trade, BOOK, [desk.quote_event("r1")], at(60))
    assert isinstance(step.commands[0], CancelRfq)
    assert [type(c) for c in step.commands[1:]] == [PlaceOrder, PlaceOrder]
    assert step.trade.execution == "limit"
    assert step.trade.stage is TradeStage.OPENING
    assert any("no acceptable quote" in note for note in step.notes)
    assert desk.accepts == []


def test_an_open_without_a_fallback_fails_when_no_quote_is_good_enough():
    step = start_open(strangle(), RfqExecution(timeout=timedelta(seconds=60), fallback=None),
                      BOOK, T0)
    desk = Desk(quotes=quotes(BUY_WORSE))
    step = advance(step.state, step.trade, BOOK,
                   [*desk.execute(step.commands), desk.quote_event("r1")], at(60))
    assert [type(c) for c in step.commands] == [CancelRfq]
    assert step.state is None
    assert step.trade.stage is TradeStage.FAILED


def test_below_the_minimum_notional_the_rfq_is_skipped_for_the_fallback_with_the_reason():
    """Notional 0.1 x (95000 + 80000) = 17,500 < 50,000: straight to limit orders."""
    step = start_open(strangle(qty="0.1"), RFQ, BOOK, T0)
    assert [type(c) for c in step.commands] == [PlaceOrder, PlaceOrder]
    assert "below the RFQ minimum" in step.trade.transitions[-1].reason
    assert step.trade.execution == "limit"


def test_a_single_leg_sell_is_requested_as_buy_and_fills_on_the_maker_buy_quote():
    """B13: single-leg requests go out as BUY; to sell, the maker-BUY quote is taken."""
    trade = new_trade((PUT, SELL, "1"))  # notional 80,000
    step = start_open(trade, RFQ, BOOK, T0)
    (sent,) = rfq_legs(step)
    assert sent.side is BUY
    two_way = quotes(("maker-sells", ((PUT, SELL, "40", "1"),)),
                     ("maker-buys", ((PUT, BUY, "51", "1"),)))
    desk = Desk(quotes=two_way)
    step = advance(step.state, step.trade, BOOK,
                   [*desk.execute(step.commands), desk.quote_event("r1")], at(5))
    (accept,) = step.commands
    assert accept.quote_id == "maker-buys"
    done = advance(step.state, step.trade, BOOK, desk.execute(step.commands), at(6))
    assert done.trade.stage is TradeStage.OPEN
    assert done.trade.legs[0].side is SELL
    assert desk.position[PUT] == D(-1)


def test_an_accept_whose_outcome_is_unknown_is_never_sent_twice_nor_abandoned():
    """Pitfall 8: no resolution event yet: wait past the deadline, alert, no fallback."""
    desk = Desk(quotes=quotes(BUY_BETTER))
    step = start_open(strangle(), RFQ, BOOK, T0)
    step = advance(step.state, step.trade, BOOK,
                   [*desk.execute(step.commands), desk.quote_event("r1")], at(10))
    assert isinstance(step.commands[0], AcceptQuote)
    alerts = []
    for second in range(20, 200, 10):
        step = advance(step.state, step.trade, BOOK, [desk.quote_event("r1")], at(second))
        assert step.commands == ()
        alerts.extend(step.alerts)
    assert step.state.rfq.stage is RfqStage.ACCEPTING
    assert len(alerts) == 1


def test_a_refused_accept_frees_the_executor_to_take_another_quote_never_the_same():
    desk = Desk(quotes=quotes(BUY_BETTER, ("q-also-good", ((CALL, SELL, "101", "0.5"),
                                                           (PUT, SELL, "51", "0.5")))))
    step = start_open(strangle(), RFQ, BOOK, T0)
    step = advance(step.state, step.trade, BOOK,
                   [*desk.execute(step.commands), desk.quote_event("r1")], at(10))
    assert step.commands[0].quote_id == "q-buy-better"
    refused = RfqFailed("t1", "r1", 10001, "quote no longer valid")
    step = advance(step.state, step.trade, BOOK, [refused, desk.quote_event("r1")], at(12))
    (again,) = step.commands
    assert again.quote_id == "q-also-good"


def test_a_failed_request_falls_back_at_once():
    step = start_open(strangle(), RFQ, BOOK, T0)
    failed = RfqFailed("t1", None, 10004, "Parameter illegal")
    step = advance(step.state, step.trade, BOOK, [failed], at(1))
    assert [type(c) for c in step.commands] == [PlaceOrder, PlaceOrder]


def test_a_close_by_rfq_trades_back_what_is_held_and_falls_back_to_limit_orders():
    """B13: RFQ is never the only close path: timeout -> reduce-only limit close."""
    trade = pending_close(opened(strangle(), "101", "51"), "end_of_cycle")
    close_spec = RfqExecution(timeout=timedelta(seconds=30), fallback=None)
    step = start_close(trade, close_spec, "end_of_cycle", BOOK, T0)
    create = step.commands[0]
    assert isinstance(create, CreateRfq)
    assert create.purpose is OrderPurpose.CLOSE
    assert [(leg.side, leg.qty) for leg in create.legs] == [(SELL, D("0.5"))] * 2
    assert step.trade.stage is TradeStage.CLOSING
    desk = Desk()
    step = advance(step.state, step.trade, BOOK, desk.execute(step.commands), at(30))
    assert isinstance(step.commands[0], CancelRfq)
    orders = places(step)
    assert len(orders) == 2
    assert all(o.request.reduce_only and o.request.side is SELL for o in orders)


def test_a_close_by_rfq_that_fills_closes_the_trade():
    trade = pending_close(opened(strangle(), "101", "51"), "end_of_cycle")
    desk = Desk(quotes=quotes(SELL_BETTER))
    desk.position = {CALL: D("0.5"), PUT: D("0.5")}
    step = start_close(trade, RFQ, "end_of_cycle", BOOK, T0)
    step = advance(step.state, step.trade, BOOK,
                   [*desk.execute(step.commands), desk.quote_event("r1")], at(5))
    done = advance(step.state, step.trade, BOOK, desk.execute(step.commands), at(6))
    assert done.trade.stage is TradeStage.CLOSED
    assert [leg.exit_price for leg in done.trade.legs] == [D(102), D(51)]
    assert desk.position == {CALL: 0, PUT: 0}


def test_action_sell_reverses_the_legs_on_open_and_the_close_reverses_them_again():
    step = start_open(strangle(), RfqExecution(action=SELL), BOOK, T0)
    assert [leg.side for leg in step.trade.legs] == [SELL, SELL]
    assert {leg.side for leg in rfq_legs(step)} == {SELL}
    held = opened(new_trade((CALL, SELL, "0.5"), (PUT, SELL, "0.5")), "100", "50")
    close = start_close(pending_close(held, "max_hold"), RfqExecution(action=SELL),
                        "max_hold", BOOK, T0)
    assert {leg.side for leg in rfq_legs(close)} == {BUY}


@pytest.mark.parametrize(("qty", "route"), [("0.5", "rfq"), ("0.1", "limit")])
def test_auto_routes_by_strike_notional_and_records_the_route_on_the_trade(qty, route):
    """I4: 0.5 x (95000 + 80000) = 87,500 >= 50,000 -> rfq; 17,500 -> limit."""
    auto = AutoExecution(rfq=RfqExecution(), limit=LimitExecution())
    step = start_open(strangle(qty=qty), auto, BOOK, T0)
    assert step.trade.execution == route
    assert route in step.trade.transitions[-1].reason
    if route == "rfq":
        assert "notional 87500" in step.trade.transitions[-1].reason.replace(".0", "")
