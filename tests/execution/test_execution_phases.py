"""Phases and price guards: never against us within a phase, skip tiny moves, floors."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.execution import advance, start_close, start_open
from runner.execution.phases import phase_plan
from runner.execution.pricing import (
    LegMarket,
    Priced,
    Unpriced,
    held_direction,
    limit_price,
    moved_enough,
    reference_price,
)
from runner.strategy.model import (
    LimitExecution,
    Phase,
    PhasedLimitExecution,
    PriceGuards,
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

TEN_S = timedelta(seconds=10)
MINUTE = timedelta(minutes=1)
TWO_PHASES = PhasedLimitExecution(phases=(
    Phase(MINUTE, TEN_S, PriceReference.AGGRESSIVE),
    Phase(MINUTE, TEN_S, PriceReference.AGGRESSIVE),
))


def test_a_plain_limit_execution_is_one_aggressive_phase_per_round():
    plan = phase_plan(LimitExecution(fill_timeout=timedelta(seconds=30), requote_rounds=10))
    assert len(plan) == 11
    assert {p.reference for p in plan} == {PriceReference.AGGRESSIVE}
    assert {p.offset_pct for p in plan} == {Decimal(2)}


def test_a_falling_bid_in_phase_one_leaves_the_sell_price_unchanged_until_phase_two():
    """B9: within a phase a reprice never moves against us; only a phase change steps it."""
    trade = new_trade((CALL, Side.SELL, "1"))
    desk = Desk()
    step = start_open(trade, TWO_PHASES, market(CALL=("100", "110", "105")), T0)
    (first,) = places(step)
    assert first.request.price == D(100)
    falling = [(at(s), market(CALL=(str(100 - s // 10), "110", "105"))) for s in range(10, 61, 10)]
    steps = drive(step, desk, [*falling, (at(61), falling[-1][1])])
    in_phase_one = steps[1:-2]
    assert all(not cancels(s) and not places(s) for s in in_phase_one)
    assert len(cancels(steps[-2])) == 1  # 60 s: phase two begins, the price may step
    (stepped,) = places(steps[-1])
    assert stepped.request.price == D(94)


def test_a_flat_book_means_zero_requotes_within_a_phase():
    """B10: nothing moved: no cancel-and-replace churn."""
    desk = Desk()
    book = market(CALL=("100", "110", "105"))
    step = start_open(new_trade((CALL, Side.BUY, "1")), TWO_PHASES, book, T0)
    steps = drive(step, desk, [(at(s), book) for s in range(1, 60)])
    assert sum(len(cancels(s)) + len(places(s)) for s in steps[1:]) == 0


def test_a_move_smaller_than_the_threshold_is_not_requoted():
    """B10: 5000 -> 5003 is 0.06 %, under the default 0.1 %: skipped."""
    desk = Desk()
    step = start_open(new_trade((CALL, Side.BUY, "1")), TWO_PHASES,
                      market(CALL=("4990", "5000", "4995")), T0)
    steps = drive(step, desk, [(at(60), market(CALL=("4993", "5003", "4995")))])
    assert cancels(steps[-1]) == []
    assert moved_enough(D(5003), D(5000), D("0.1")) is False
    assert moved_enough(D(5006), D(5000), D("0.1")) is True


@pytest.mark.parametrize(("side", "new", "last", "kept"), [
    (Side.SELL, "95", "100", "100"),  # a sell never goes lower within a phase
    (Side.SELL, "105", "100", "105"),  # ... but may improve
    (Side.BUY, "105", "100", "100"),  # a buy never goes higher within a phase
    (Side.BUY, "95", "100", "95"),
])
def test_a_reprice_within_a_phase_only_ever_moves_in_our_favour(side, new, last, kept):
    """B9, table form."""
    assert held_direction(D(new), D(last), side) == D(kept)


def test_an_opening_sell_into_a_thin_book_far_below_fair_does_not_open():
    """B11: bid 50 against a fair 100 with an 83 % floor: no order, the trade fails."""
    guarded = LimitExecution(guards=PriceGuards(open_sell_floor_pct_of_fair=D(83)))
    thin = market(PUT=("50", "110", "100"))
    step = start_open(new_trade((PUT, Side.SELL, "1")), guarded, thin, T0)
    assert step.commands == ()
    assert step.trade.stage is TradeStage.FAILED
    assert "83" in step.trade.transitions[-1].reason


def test_the_stop_loss_close_ignores_the_opening_sell_floor():
    """B11: the floor protects opens only; a close sells into the same thin book."""
    guarded = LimitExecution(guards=PriceGuards(open_sell_floor_pct_of_fair=D(83)))
    trade = pending_close(opened(new_trade((PUT, Side.BUY, "1")), "100"), "stop_loss")
    step = start_close(trade, guarded, "stop_loss", market(PUT=("50", "110", "100")), T0)
    (sell,) = places(step)
    assert sell.request.price == D(50)  # 50 / 1.02 = 49.02, sells round up


def test_a_sell_with_a_zero_bid_is_priced_at_the_floor():
    """B12: deep out of the money, bid 0: the sell goes out at min_floor_price."""
    floored = LimitExecution(guards=PriceGuards(min_floor_price=D(5)))
    trade = pending_close(opened(new_trade((PUT, Side.BUY, "1")), "10"), "max_hold")
    step = start_close(trade, floored, "max_hold", market(PUT=("0", "8", "3")), T0)
    (sell,) = places(step)
    assert sell.request.price == D(5)
    assert sell.request.reduce_only


def test_the_floor_only_keeps_a_buy_off_zero():
    """B12: a buy is never raised to the floor, but never priced at zero either."""
    guards = PriceGuards(min_floor_price=D(5))
    cheap = LegMarket(CALL, bid=None, ask=D("0.2"), mark=None, tick=D(1), lot=D("0.01"))
    assert limit_price(cheap, Side.BUY, PriceReference.AGGRESSIVE, D(0), guards,
                       opening=True) == Priced(D(1))
    normal = LegMarket(CALL, bid=D(2), ask=D(3), mark=None, tick=D(1), lot=D("0.01"))
    assert limit_price(normal, Side.BUY, PriceReference.AGGRESSIVE, D(0), guards,
                       opening=True) == Priced(D(3))


def test_without_a_floor_a_sell_with_no_bid_is_not_priced():
    empty = LegMarket(PUT, bid=None, ask=D(8), mark=D(3), tick=D(1), lot=D("0.01"))
    outcome = limit_price(empty, Side.SELL, PriceReference.AGGRESSIVE, D(2), PriceGuards(),
                          opening=False)
    assert isinstance(outcome, Unpriced)


@pytest.mark.parametrize(("reference", "side", "expected"), [
    (PriceReference.MID, Side.BUY, "105"),
    (PriceReference.MARK, Side.SELL, "104"),
    (PriceReference.FAIR, Side.BUY, "104"),  # the mark, inside the book
    (PriceReference.TOP_OF_BOOK, Side.BUY, "100"),  # join the bid
    (PriceReference.TOP_OF_BOOK, Side.SELL, "110"),  # join the ask
    (PriceReference.AGGRESSIVE, Side.BUY, "110"),  # cross to the ask
    (PriceReference.AGGRESSIVE, Side.SELL, "100"),  # cross to the bid
])
def test_each_phase_reference_reads_the_documented_price(reference, side, expected):
    book = LegMarket(CALL, bid=D(100), ask=D(110), mark=D(104), tick=D(1), lot=D("0.01"))
    assert reference_price(book, side, reference) == D(expected)


@pytest.mark.parametrize(("bid", "ask", "mark", "fair"), [
    ("100", "110", "104", "104"),  # mark inside the book
    ("100", "110", "120", "105"),  # mark outside: mid
    ("100", None, "120", "120"),  # only a bid: the mark when above it
    ("100", None, "90", "100"),  # ... else the bid
    (None, "110", "120", "110"),  # only an ask: never above it
    (None, None, "120", "120"),  # no book: the mark
])
def test_fair_value_is_the_mark_inside_the_book_else_mid_with_one_sided_fallbacks(
        bid, ask, mark, fair):
    """E1's fair basis, as the phases price from it."""
    book = LegMarket(CALL, bid=None if bid is None else D(bid),
                     ask=None if ask is None else D(ask), mark=D(mark), tick=D(1),
                     lot=D("0.01"))
    assert book.fair == D(fair)


def test_a_phase_offset_is_more_aggressive_for_either_side():
    book = LegMarket(CALL, bid=D(100), ask=D(110), mark=D(104), tick=D(1), lot=D("0.01"))
    buy = limit_price(book, Side.BUY, PriceReference.MID, D(2), PriceGuards(), opening=True)
    sell = limit_price(book, Side.SELL, PriceReference.MID, D(2), PriceGuards(), opening=True)
    assert buy == Priced(D(107))  # 105 x 1.02 = 107.1, rounded down
    assert sell == Priced(D(103))  # 105 / 1.02 = 102.94, rounded up


def test_the_book_in_the_snapshot_wins_over_the_chain_quote():
    from runner.execution.pricing import leg_market
    from tests.execution.helpers_execution import with_book

    snapshot = with_book(market(CALL=("100", "110", "104")), CALL, "101", "108")
    seen = leg_market(snapshot, CALL)
    assert (seen.bid, seen.ask, seen.mark) == (D(101), D(108), D(104))


def test_advance_after_the_last_phase_is_exhausted_and_cancels_working_orders():
    desk = Desk()
    book = market(CALL=("100", "110", "105"))
    step = start_open(new_trade((CALL, Side.BUY, "1")), TWO_PHASES, book, T0)
    desk.execute(step.commands)
    end = advance(step.state, step.trade, book, [], at(120))
    assert len(cancels(end)) == 1
    assert end.state is not None
    assert end.state.limit is not None
    assert end.state.limit.exhausted_at == at(120)
