"""Every way an open can fail leaves a failure reason a trader can read (issue 12 item 3).

One case per path that moves a trade to FAILED (the executors' and the service's): the
trade ends FAILED, carries a `failure_reason`, and the reason names what was tried and
what stood in the way, not only that something failed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.commands import QuoteAccepted, RfqFailed
from runner.domain.orders import Side
from runner.domain.rfq import BlockTrade, BlockTradeLeg
from runner.domain.trades import Trade, TradeStage
from runner.execution import advance, start_close, start_open
from runner.execution.failure import span_text
from runner.strategy.model import LimitExecution, RfqExecution
from tests.execution.helpers_execution import (
    CALL,
    PUT,
    T0,
    D,
    Desk,
    at,
    drive,
    make_quote,
    market,
    new_trade,
    places,
)

BOOK = market(CALL=("100", "102", "101"), PUT=("50", "52", "51"))
FAST = LimitExecution(fill_timeout=timedelta(seconds=30), requote_rounds=1)
NO_FALLBACK = RfqExecution(timeout=timedelta(minutes=3), fallback=None,
                           min_improvement_pct=Decimal("0.5"))
BUY, SELL = Side.BUY, Side.SELL
# Buying the 0.5 strangle on the book costs 77; this maker asks 78.54 (2 % worse).
WORSE = make_quote("q-worse", "r1", (CALL, SELL, "104.04", "0.5"), (PUT, SELL, "53.04", "0.5"))


def strangle(qty: str = "0.5") -> Trade:
    return new_trade((CALL, BUY, qty), (PUT, BUY, qty))


def limit_open_nothing_filled() -> Trade:
    steps = drive(start_open(strangle(), FAST, BOOK, T0), Desk(),
                  [(at(s), BOOK) for s in range(10, 81, 10)])
    return steps[-1].trade


def limit_open_partly_filled_then_unwound() -> Trade:
    desk = Desk()
    step = start_open(strangle(), FAST, BOOK, T0)
    call_id = places(step)[0].request.client_order_id
    steps = drive(step, desk, [(at(s), BOOK) for s in range(10, 71, 10)],
                  fills={at(10): [(call_id, "0.2")]})
    unwinding = steps[-1]
    (unwind,) = places(unwinding)
    return advance(unwinding.state, unwinding.trade, BOOK,
                   [desk.fill(unwind.request.client_order_id, "0.2")], at(80)).trade


def limit_open_unpriced() -> Trade:
    no_ask = market(CALL=("100", None, "101"), PUT=("50", "52", "51"))
    return start_open(strangle(), LimitExecution(), no_ask, T0).trade


def rfq_below_its_minimum_without_fallback() -> Trade:
    rfq = RfqExecution(fallback=None, min_notional_usd=Decimal(1_000_000))
    return start_open(strangle(), rfq, BOOK, T0).trade


def rfq_quotes_worse_than_the_book_without_fallback() -> Trade:
    desk = Desk(quotes=(WORSE,))
    step = start_open(strangle(), NO_FALLBACK, BOOK, T0)
    step = advance(step.state, step.trade, BOOK,
                   [*desk.execute(step.commands), desk.quote_event("r1")], at(10))
    return advance(step.state, step.trade, BOOK, [], at(180)).trade


def rfq_quotes_without_a_book_price_without_fallback() -> Trade:
    no_put_ask = market(CALL=("100", "102", "101"), PUT=("50", None, "51"))
    desk = Desk(quotes=(WORSE,))
    step = start_open(strangle(), NO_FALLBACK, no_put_ask, T0)
    step = advance(step.state, step.trade, no_put_ask,
                   [*desk.execute(step.commands), desk.quote_event("r1")], at(10))
    step = advance(step.state, step.trade, no_put_ask, [desk.quote_event("r1")], at(20))
    return advance(step.state, step.trade, no_put_ask, [], at(180)).trade


def rfq_no_quote_at_all_without_fallback() -> Trade:
    desk = Desk()
    step = start_open(strangle(), NO_FALLBACK, BOOK, T0)
    step = advance(step.state, step.trade, BOOK, desk.execute(step.commands), at(10))
    return advance(step.state, step.trade, BOOK, [], at(180)).trade


def rfq_refused_by_the_exchange_without_fallback() -> Trade:
    step = start_open(strangle(), NO_FALLBACK, BOOK, T0)
    failed = RfqFailed("t1", None, 10004, "Parameter illegal")
    return advance(step.state, step.trade, BOOK, [failed], at(1)).trade


def rfq_block_trade_filled_one_leg_then_unwound() -> Trade:
    desk = Desk()
    step = start_open(strangle(), NO_FALLBACK, BOOK, T0)
    step = advance(step.state, step.trade, BOOK, desk.execute(step.commands), at(1))
    half = BlockTrade("b1", "r1", "q1", (BlockTradeLeg(CALL, BUY, D("101"), D("0.5")),))
    unwinding = advance(step.state, step.trade, BOOK, [QuoteAccepted("r1", half)], at(2))
    (unwind,) = places(unwinding)
    desk.execute(unwinding.commands)
    desk.position[CALL] = D("0.5")
    return advance(unwinding.state, unwinding.trade, BOOK,
                   [desk.fill(unwind.request.client_order_id, "0.5")], at(3)).trade


def open_abandoned_before_any_fill() -> Trade:
    desk = Desk()
    step = start_open(strangle(), FAST, BOOK, T0)
    desk.execute(step.commands)
    closing = start_close(step.trade, FAST, "operator flatten", BOOK, at(5),
                          previous=step.state)
    final = closing
    for cancel in closing.commands:
        final = advance(final.state, final.trade, BOOK,
                        desk.cancel_on_exchange(cancel.client_order_id), at(6))
    return final.trade


def service_gives_up_a_stale_pending_open() -> Trade:
    """The service's own moves to FAILED (runner/service/loop.py) pass their reason as is."""
    return strangle().moved_to(TradeStage.FAILED, "interrupted before any order was sent;"
                               " too old to open now", at(600))


CASES: dict[str, tuple[Callable[[], Trade], tuple[str, ...]]] = {
    "limit open, nothing filled": (
        limit_open_nothing_filled,
        ("entry orders not filled within 1m: 2 pricing rounds, 0 requotes",
         f"missing leg 0 0/0.5 {CALL}", "nothing was held")),
    "limit open, one leg partly filled and unwound": (
        limit_open_partly_filled_then_unwound,
        ("entry orders not filled within 1m", f"leg 0 0.2/0.5 {CALL}", "was unwound")),
    "limit open, a leg cannot be priced": (
        limit_open_unpriced, ("no order placed", CALL)),
    "rfq below its minimum notional, no fallback": (
        rfq_below_its_minimum_without_fallback,
        ("below the RFQ minimum notional of 1000000 USD: the trade's is 87500",
         "fallback none")),
    "rfq quotes worse than the book, no fallback": (
        rfq_quotes_worse_than_the_book_without_fallback,
        ("no quote beat the book by 0.5 % within 3m: best quote was 2 % worse (1 quote)",
         "fallback none")),
    "rfq without any quote, no fallback": (
        rfq_no_quote_at_all_without_fallback,
        ("no quote arrived within 3m", "fallback none")),
    "rfq quotes unjudged, the book lacks a price, no fallback": (
        rfq_quotes_without_a_book_price_without_fallback,
        (f"no quote could be judged within 3m: the orderbook had no ask for {PUT}",
         "compare 1 quote with", "fallback none")),
    "rfq refused by the exchange, no fallback": (
        rfq_refused_by_the_exchange_without_fallback,
        ("the RFQ failed: Parameter illegal", "fallback none")),
    "rfq block trade of one leg only, unwound": (
        rfq_block_trade_filled_one_leg_then_unwound,
        ("the RFQ filled only part of the trade", "was unwound")),
    "open abandoned before any fill": (
        open_abandoned_before_any_fill,
        ("the open was abandoned before it filled: operator flatten",)),
    "service gives up a stale pending open": (
        service_gives_up_a_stale_pending_open, ("interrupted before any order was sent",)),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_every_failed_trade_of_every_kind_says_why_in_words(kind: str) -> None:
    scenario, words = CASES[kind]
    trade = scenario()
    assert trade.stage is TradeStage.FAILED, trade.transitions
    assert trade.failure_reason, trade.transitions
    for word in words:
        assert word in trade.failure_reason, (word, trade.failure_reason)


def test_the_first_why_is_kept_when_an_unwind_follows_it() -> None:
    trade = limit_open_partly_filled_then_unwound()
    assert trade.transitions[-1].reason == "open failed; its filled legs were unwound"
    assert trade.failure_reason.startswith("entry orders not filled")


def test_a_closed_trade_has_no_failure_reason() -> None:
    trade = strangle().moved_to(TradeStage.OPEN, "filled", T0)
    trade = trade.moved_to(TradeStage.PENDING_CLOSE, "tp", T0)
    assert trade.moved_to(TradeStage.CLOSED, "closed", at(1)).failure_reason is None


@pytest.mark.parametrize(("delta", "text"), [(timedelta(minutes=3), "3m"),
                                             (timedelta(hours=1, seconds=5), "1h5s"),
                                             (timedelta(0), "0s")])
def test_durations_read_the_way_strategy_files_write_them(delta: timedelta, text: str) -> None:
    assert span_text(delta) == text
