"""Flatten and the other decisions in process, on a manual clock (lessons B1, B3, B4, B6, H6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from runner.dispatch import Dispatcher
from runner.domain.commands import OrderKey, OrderPurpose, PlaceOrder
from runner.domain.instruments import OptionKind
from runner.domain.orders import OrderRequest, OrderStatus, Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.reconcile.decisions import (
    FlattenLimits,
    adopt_positions,
    flatten,
    mark_closed_externally,
)
from runner.sim.venue import SimVenue
from runner.store.store import Store
from tests.ops_trades.helpers_ops_trades import hold, liquid_quote, positions

LIMITS = FlattenLimits(rounds=3, requote_after=timedelta(seconds=10),
                       poll_every=timedelta(seconds=1))


@pytest.fixture
def venue(clock) -> SimVenue:
    return SimVenue(clock, seed=7)


@pytest.fixture
def store(tmp_path, clock) -> Store:
    opened = Store.open(tmp_path / "state" / "runner.sqlite3", clock)
    yield opened
    opened.close()


def open_trade(store: Store, clock, trade_id: str, legs: list[tuple[Any, Side, str]]) -> Trade:
    """An OPEN trade holding (quote, side, qty) per leg."""
    now = clock.now()
    trade = Trade.create(trade_id, "demo", tuple(
        TradeLeg(i, quote.instrument.symbol, side, Decimal(qty))
        for i, (quote, side, qty) in enumerate(legs)), now)
    trade = trade.moved_to(TradeStage.OPENING, "orders placed", now)
    for i, (quote, _, qty) in enumerate(legs):
        trade = trade.with_leg(trade.legs[i].with_open_fill(Decimal(qty), quote.ask))
    trade = trade.moved_to(TradeStage.OPEN, "filled", now)
    store.save_trade(trade)
    return trade


class StaleFirstBook:
    """The first book read of each symbol shows a bid far above the market (a stale view),
    so the first flatten order rests unfilled and must be requoted."""

    def __init__(self, inner: SimVenue) -> None:
        self.inner = inner
        self.seen: set[str] = set()

    def orderbook(self, symbol: str, *, fresh: bool = True):
        book = self.inner.orderbook(symbol, fresh=fresh)
        if symbol in self.seen:
            return book
        self.seen.add(symbol)
        high = replace(book.asks[0], price=book.asks[0].price * 3)
        return replace(book, bids=(high,))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class WatchedVenue:
    """Records the venue's positions after every order placed (to catch a short at once)."""

    def __init__(self, inner: SimVenue) -> None:
        self.inner = inner
        self.after_each_order: list[dict[str, Decimal]] = []

    def place_order(self, request: OrderRequest) -> int:
        order_id = self.inner.place_order(request)
        self.after_each_order.append(positions(self.inner))
        return order_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_an_unfilled_flatten_order_is_cancelled_and_requoted_at_the_new_touch(
        store, venue, clock) -> None:
    quote = liquid_quote(venue)
    hold(venue, quote, Side.BUY, "0.1")
    open_trade(store, clock, "t1", [(quote, Side.BUY, "0.1")])
    exchange = StaleFirstBook(venue)
    outcome = flatten(store, Dispatcher(exchange, store, clock), exchange, clock, "t1", LIMITS)
    assert outcome.is_done
    first, second = sorted(store.orders_for_trade("t1"), key=lambda o: o.key.attempt)
    assert (first.key.attempt, second.key.attempt) == (0, 1)
    assert first.exchange_status is OrderStatus.CANCELED
    assert first.filled_qty == 0
    assert second.filled_qty == Decimal("0.1")
    assert all(o.request.reduce_only and o.request.qty == Decimal("0.1")
               for o in (first, second))
    assert positions(venue) == {}
    assert outcome.trade.stage is TradeStage.CLOSED
    assert outcome.trade.legs[0].exit_price == second.avg_price


def test_a_leg_without_bids_never_turns_into_a_short_and_gives_up_after_the_rounds(
        store, venue, clock) -> None:
    """B1: the put has no bids; the call closes at once; the put is retried 3 rounds; at no
    moment does any position go below zero."""
    call = liquid_quote(venue, OptionKind.CALL)
    put = liquid_quote(venue, OptionKind.PUT)
    hold(venue, call, Side.BUY, "0.1")
    hold(venue, put, Side.BUY, "0.1")
    open_trade(store, clock, "t1", [(call, Side.BUY, "0.1"), (put, Side.BUY, "0.1")])
    venue.empty_book_side(put.instrument.symbol, Side.BUY)
    watched = WatchedVenue(venue)
    started = clock.now()
    outcome = flatten(store, Dispatcher(watched, store, clock), watched, clock, "t1", LIMITS)
    assert not outcome.is_done
    assert all(qty >= 0 for seen in watched.after_each_order for qty in seen.values())
    assert positions(venue) == {put.instrument.symbol: Decimal("0.1")}
    assert sum("no sell price in the book; retried" in line for line in outcome.lines) == 3
    assert clock.now() - started == timedelta(seconds=20)  # waits between rounds, not after
    trade = store.load_trade("t1")
    assert trade.stage is TradeStage.PENDING_CLOSE
    assert trade.legs[0].open_qty == 0
    assert trade.legs[1].open_qty == Decimal("0.1")
    assert store.load_executions() == {}


def test_flatten_cancels_the_executors_resting_close_order_first(store, venue, clock) -> None:
    """B3/B4: a resting take-profit close is cancelled before the flatten order goes out."""
    quote = liquid_quote(venue)
    hold(venue, quote, Side.BUY, "0.1")
    trade = open_trade(store, clock, "t1", [(quote, Side.BUY, "0.1")])
    trade = trade.with_exit_reason("take_profit")
    trade = trade.moved_to(TradeStage.PENDING_CLOSE, "take_profit", clock.now())
    trade = trade.moved_to(TradeStage.CLOSING, "close orders placed", clock.now())
    store.save_trade_and_execution(trade, {"kind": "limit", "note": "the executor's state"})
    key = OrderKey("t1", 0, OrderPurpose.CLOSE, "take_profit", 0)
    dispatcher = Dispatcher(venue, store, clock)
    dispatcher.execute([PlaceOrder(key, OrderRequest(
        quote.instrument.symbol, Side.SELL, Decimal("0.1"), (quote.ask or Decimal(1)) * 3,
        key.client_order_id, reduce_only=True))])
    assert len(venue.open_orders()) == 1

    outcome = flatten(store, dispatcher, venue, clock, "t1", LIMITS)
    assert outcome.is_done
    resting = store.find_by_client_order_id(key.client_order_id)
    assert resting.exchange_status is OrderStatus.CANCELED
    assert venue.open_orders() == []
    assert positions(venue) == {}
    assert outcome.trade.exit_reason == "take_profit"  # the first reason is kept (E5)
    assert store.load_executions() == {}


def test_flattening_a_half_open_trade_cancels_the_open_order_and_closes_what_filled(
        store, venue, clock) -> None:
    call = liquid_quote(venue, OptionKind.CALL)
    put = liquid_quote(venue, OptionKind.PUT)
    trade = Trade.create("t1", "demo", (TradeLeg(0, call.instrument.symbol, Side.BUY,
                                                 Decimal("0.1")),
                                        TradeLeg(1, put.instrument.symbol, Side.BUY,
                                                 Decimal("0.1"))), clock.now())
    store.save_trade(trade.moved_to(TradeStage.OPENING, "orders placed", clock.now()))
    dispatcher = Dispatcher(venue, store, clock)
    for leg, quote, price in ((0, call, (call.ask or Decimal(0)) * 2), (1, put, Decimal(1))):
        key = OrderKey("t1", leg, OrderPurpose.OPEN, "entry", 0)
        dispatcher.execute([PlaceOrder(key, OrderRequest(
            quote.instrument.symbol, Side.BUY, Decimal("0.1"), price, key.client_order_id))])
    assert positions(venue) == {call.instrument.symbol: Decimal("0.1")}

    outcome = flatten(store, dispatcher, venue, clock, "t1", LIMITS)
    assert outcome.is_done
    assert outcome.trade.stage is TradeStage.CLOSED
    assert venue.open_orders() == []
    assert positions(venue) == {}
    assert outcome.trade.legs[0].closed_qty == Decimal("0.1")


def test_a_trade_that_never_held_anything_ends_failed_without_an_order(store, venue,
                                                                       clock) -> None:
    quote = liquid_quote(venue)
    store.save_trade(Trade.create("t1", "demo", (TradeLeg(0, quote.instrument.symbol,
                                                          Side.BUY, Decimal("0.1")),),
                                  clock.now()))
    outcome = flatten(store, Dispatcher(venue, store, clock), venue, clock, "t1", LIMITS)
    assert outcome.trade.stage is TradeStage.FAILED
    assert outcome.trade.transitions[-1].reason == "operator: flatten; nothing was held"
    assert store.orders_for_trade("t1") == []


def test_closing_externally_cancels_what_the_trade_still_had_working(store, venue,
                                                                     clock) -> None:
    quote = liquid_quote(venue)
    trade = Trade.create("t1", "demo", (TradeLeg(0, quote.instrument.symbol, Side.BUY,
                                                 Decimal("0.1")),), clock.now())
    store.save_trade(trade.moved_to(TradeStage.OPENING, "orders placed", clock.now()))
    dispatcher = Dispatcher(venue, store, clock)
    key = OrderKey("t1", 0, OrderPurpose.OPEN, "entry", 0)
    dispatcher.execute([PlaceOrder(key, OrderRequest(
        quote.instrument.symbol, Side.BUY, Decimal("0.1"), Decimal(1), key.client_order_id))])
    closed = mark_closed_externally(store, "t1", clock.now(), "cleaned up by hand",
                                    dispatcher=dispatcher)
    assert closed.stage is TradeStage.CLOSED
    assert venue.open_orders() == []
    assert ("close_externally", "t1", "closed") in [row[1:4] for row in store.audit_log()]


def test_adopting_twice_in_the_same_second_never_reuses_a_trade_id(store, venue, clock) -> None:
    quote = liquid_quote(venue)
    hold(venue, quote, Side.BUY, "0.1")
    [first] = adopt_positions(store, venue, clock.now())
    mark_closed_externally(store, first.trade_id, clock.now())  # forgotten, still there
    [second] = adopt_positions(store, venue, clock.now())
    assert second.trade_id == f"{first.trade_id}-2"
    assert store.load_trade(first.trade_id).stage is TradeStage.CLOSED


def test_an_expired_position_is_left_to_settlement_not_adopted(store, venue, clock) -> None:
    """G1: a position on an expired instrument is settled by the exchange, never adopted."""
    quote = liquid_quote(venue)
    hold(venue, quote, Side.BUY, "0.1")
    after_expiry = quote.instrument.expiry + timedelta(seconds=1)
    assert adopt_positions(store, venue, after_expiry) == []
