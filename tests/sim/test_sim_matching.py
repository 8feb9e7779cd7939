"""Matching on the simulated venue follows Coincall's rules and codes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import OrderStatus, Side, TimeInForce
from runner.exchange.errors import ExchangeRejected, InsufficientFunds, OrderNotFound
from runner.sim.records import TRADE_TYPE_LIMIT
from runner.sim.venue import SimVenue
from tests.sim.helpers_sim import expiry, near_money, order


def test_a_buy_that_crosses_fills_at_once_at_the_ask_as_taker(venue):
    quote = near_money(venue, OptionKind.CALL)
    order_id = venue.place_order(order(quote.symbol, Side.BUY, "0.1", quote.ask + 50))
    placed = venue.get_order(order_id=order_id)
    assert placed.status is OrderStatus.FILLED
    assert placed.filled_qty == Decimal("0.1")
    assert placed.avg_price == quote.ask
    assert placed.fee > 0
    (fill,) = venue.fills(venue.server_time() - timedelta(seconds=1))
    assert (fill.order_id, fill.price, fill.is_taker) == (order_id, quote.ask, True)


def test_an_order_larger_than_the_depth_fills_partly_and_the_rest_rests(venue):
    quote = near_money(venue, OptionKind.PUT)
    book = venue.orderbook(quote.symbol)
    best = book.bids[0]
    order_id = venue.place_order(order(quote.symbol, Side.SELL, str(best.size + 5), best.price))
    placed = venue.get_order(order_id=order_id)
    assert placed.status is OrderStatus.PARTIALLY_FILLED
    assert placed.filled_qty == best.size
    assert [o.order_id for o in venue.open_orders()] == [order_id]
    assert venue.positions()[0].qty == -best.size


def test_a_sweep_takes_several_levels_each_at_its_own_price(venue):
    quote = near_money(venue, OptionKind.CALL)
    asks = venue.orderbook(quote.symbol).asks
    qty = asks[0].size + asks[1].size
    order_id = venue.place_order(order(quote.symbol, Side.BUY, str(qty), asks[1].price))
    placed = venue.get_order(order_id=order_id)
    assert placed.status is OrderStatus.FILLED
    expected = (asks[0].price * asks[0].size + asks[1].price * asks[1].size) / qty
    assert placed.avg_price == expected


def test_a_resting_order_fills_at_its_price_when_the_market_moves_through_it(clock, venue):
    quote = near_money(venue, OptionKind.CALL)
    price = quote.bid - 100
    order_id = venue.place_order(order(quote.symbol, Side.BUY, "0.2", price))
    assert venue.get_order(order_id=order_id).status is OrderStatus.NEW
    venue.move_index(Underlying.BTC, Decimal(-4))
    clock.advance(timedelta(seconds=1))
    placed = venue.get_order(order_id=order_id)
    assert placed.status is OrderStatus.FILLED
    assert placed.avg_price == price
    assert venue.fills(clock.now() - timedelta(minutes=1))[-1].is_taker is False


def test_off_tick_prices_are_truncated_to_the_tick_not_rejected(venue):
    """Coincall pitfall 13 / lessons F2: a 9.50 buy rests at 9.00 on a 1-dollar tick."""
    btc = near_money(venue, OptionKind.PUT, offset=-6)
    eth = near_money(venue, OptionKind.PUT, offset=-6, underlying=Underlying.ETH)
    btc_id = venue.place_order(order(btc.symbol, Side.BUY, "0.1", "9.50"))
    eth_id = venue.place_order(order(eth.symbol, Side.BUY, "1", "1.37"))
    assert venue.get_order(order_id=btc_id).price == Decimal(9)
    assert venue.get_order(order_id=eth_id).price == Decimal("1.3")


def test_a_price_that_truncates_to_nothing_is_refused(venue):
    quote = near_money(venue, OptionKind.PUT, offset=-6)
    with pytest.raises(ExchangeRejected) as raised:
        venue.place_order(order(quote.symbol, Side.BUY, "0.1", "0.5"))
    assert raised.value.code == 10532


@pytest.mark.parametrize(("qty", "code"), [("0.001", 10558), ("0", 10558), ("0.015", 10004)])
def test_quantities_below_the_minimum_or_off_the_lot_are_refused(venue, qty, code):
    quote = near_money(venue, OptionKind.CALL)
    with pytest.raises(ExchangeRejected) as raised:
        venue.place_order(order(quote.symbol, Side.BUY, qty, quote.bid))
    assert raised.value.code == code
    assert venue.open_orders() == []


def test_an_unknown_symbol_is_refused(venue):
    with pytest.raises(ExchangeRejected) as raised:
        venue.place_order(order("BTCUSD-3MAR26-87500-C", Side.BUY, "0.1", "100"))
    assert raised.value.code == 10574


def test_a_reused_client_order_id_is_refused_even_after_the_first_order_ended(venue):
    quote = near_money(venue, OptionKind.CALL)
    venue.place_order(order(quote.symbol, Side.BUY, "0.1", quote.bid, client_order_id=77))
    venue.cancel_order(client_order_id=77)
    with pytest.raises(ExchangeRejected) as raised:
        venue.place_order(order(quote.symbol, Side.BUY, "0.1", quote.bid, client_order_id=77))
    assert raised.value.code == 10577


def test_reduce_only_without_a_position_is_refused(venue):
    """B1, pitfall 11: a close can never open a naked short."""
    quote = near_money(venue, OptionKind.CALL)
    with pytest.raises(ExchangeRejected) as raised:
        venue.place_order(order(quote.symbol, Side.SELL, "0.1", quote.bid, reduce_only=True))
    assert raised.value.code == 10536
    assert venue.positions() == []


def test_reduce_only_may_close_but_never_flip_or_over_close_a_position(venue):
    quote = near_money(venue, OptionKind.CALL)
    venue.place_order(order(quote.symbol, Side.BUY, "0.3", quote.ask))
    with pytest.raises(ExchangeRejected) as raised:
        venue.place_order(order(quote.symbol, Side.SELL, "0.4", quote.bid, reduce_only=True))
    assert raised.value.code == 10536
    with pytest.raises(ExchangeRejected):  # the same side as the position never reduces
        venue.place_order(order(quote.symbol, Side.BUY, "0.1", quote.ask, reduce_only=True))
    resting = venue.place_order(order(quote.symbol, Side.SELL, "0.2", quote.ask + 500,
                                      reduce_only=True))
    with pytest.raises(ExchangeRejected):  # 0.2 already working: only 0.1 left to reduce
        venue.place_order(order(quote.symbol, Side.SELL, "0.2", quote.bid, reduce_only=True))
    venue.cancel_order(order_id=resting)
    venue.place_order(order(quote.symbol, Side.SELL, "0.3", quote.bid - 200, reduce_only=True))
    assert venue.positions() == []


def test_cancel_ends_an_order_and_is_quiet_about_one_already_final(venue):
    quote = near_money(venue, OptionKind.PUT)
    order_id = venue.place_order(order(quote.symbol, Side.BUY, "0.1", quote.bid - 50))
    venue.cancel_order(order_id=order_id)
    assert venue.get_order(order_id=order_id).status is OrderStatus.CANCELED
    assert venue.open_orders() == []
    venue.cancel_order(order_id=order_id)
    assert venue.order_records()[0].state_code == 3
    assert venue.order_records()[0].trade_type == TRADE_TYPE_LIMIT


def test_unknown_orders_are_none_on_lookup_and_an_error_on_cancel(venue):
    assert venue.get_order(order_id=123) is None
    assert venue.get_order(client_order_id=456) is None
    with pytest.raises(OrderNotFound) as raised:
        venue.cancel_order(order_id=123)
    assert raised.value.code == 10584


def test_orders_can_be_looked_up_by_client_order_id(venue):
    quote = near_money(venue, OptionKind.PUT)
    order_id = venue.place_order(order(quote.symbol, Side.BUY, "0.1", quote.bid,
                                       client_order_id=4242))
    assert venue.get_order(client_order_id=4242).order_id == order_id


def test_ioc_cancels_what_does_not_fill(venue):
    quote = near_money(venue, OptionKind.CALL)
    best = venue.orderbook(quote.symbol).asks[0]
    too_many = str(best.size + 1)
    ioc = venue.get_order(order_id=venue.place_order(
        order(quote.symbol, Side.BUY, too_many, best.price, tif=TimeInForce.IOC)))
    assert ioc.status is OrderStatus.CANCELED
    assert ioc.filled_qty == best.size


def test_fok_is_refused_with_12012_as_the_sim_server_refuses_it(venue):
    """Issue 8 finding 11: Coincall's 12012 names GTC and IOC only; in process as over HTTP."""
    quote = near_money(venue, OptionKind.CALL)
    top = venue.orderbook(quote.symbol).asks[0]
    with pytest.raises(ExchangeRejected) as refused:
        venue.place_order(order(quote.symbol, Side.BUY, "0.1", top.price,
                                tif=TimeInForce.FOK))
    assert refused.value.code == 12012
    assert venue.open_orders() == []
    assert venue.fills(venue.started_at) == []


def test_a_post_only_order_that_would_cross_is_cancelled_unfilled(venue):
    quote = near_money(venue, OptionKind.CALL)
    placed = venue.get_order(order_id=venue.place_order(
        order(quote.symbol, Side.BUY, "0.1", quote.ask, post_only=True)))
    assert placed.status is OrderStatus.CANCELED
    assert placed.filled_qty == 0


def test_liquidity_taken_is_not_available_again_within_the_minute(venue):
    quote = near_money(venue, OptionKind.CALL)
    best = venue.orderbook(quote.symbol).asks[0]
    venue.place_order(order(quote.symbol, Side.BUY, str(best.size), best.price))
    second = venue.get_order(order_id=venue.place_order(
        order(quote.symbol, Side.BUY, "0.1", best.price)))
    assert second.status is OrderStatus.NEW


def test_orders_of_an_expiring_instrument_end_cancelled_by_exercise(clock, venue):
    """G1: no working order survives its instrument's 08:00 expiry."""
    quote = near_money(venue, OptionKind.CALL, position=0)
    order_id = venue.place_order(order(quote.symbol, Side.SELL, "0.1", quote.ask * 3 + 5000))
    clock.set(expiry(venue, 0) + timedelta(minutes=1))
    assert venue.get_order(order_id=order_id).status is OrderStatus.CANCELED_BY_EXERCISE
    assert venue.open_orders() == []
    assert venue.order_records()[0].state_code == 10


def test_a_book_side_can_be_emptied_so_a_sell_finds_no_bid(venue):
    """B1: the put has no bids at close time."""
    quote = near_money(venue, OptionKind.PUT)
    venue.empty_book_side(quote.symbol, Side.BUY)
    assert venue.orderbook(quote.symbol).bids == ()
    chain = {q.symbol: q for q in venue.option_chain(Underlying.BTC, quote.instrument.expiry)}
    assert chain[quote.symbol].bid is None
    assert chain[quote.symbol].ask is not None
    order_id = venue.place_order(order(quote.symbol, Side.SELL, "0.1", "1"))
    assert venue.get_order(order_id=order_id).status is OrderStatus.NEW
    venue.restore_book_side(quote.symbol, Side.BUY)
    assert venue.get_order(order_id=order_id).status is OrderStatus.FILLED


def test_fill_reports_can_lag_behind_the_fill(clock, venue):
    """B8: the exchange reports a fill moments after it happened."""
    venue.delay_fill_reports(5)
    quote = near_money(venue, OptionKind.CALL)
    order_id = venue.place_order(order(quote.symbol, Side.BUY, "0.1", quote.ask))
    assert venue.get_order(order_id=order_id).status is OrderStatus.NEW
    assert [o.order_id for o in venue.open_orders()] == [order_id]
    assert venue.fills(clock.now() - timedelta(minutes=1)) == []
    clock.advance(timedelta(seconds=5))
    assert venue.get_order(order_id=order_id).status is OrderStatus.FILLED
    assert venue.open_orders() == []
    assert len(venue.fills(clock.now() - timedelta(minutes=1))) == 1


def test_an_order_needing_more_margin_than_available_is_refused(venue):
    venue.set_cash(Decimal(100))
    quote = near_money(venue, OptionKind.CALL)
    with pytest.raises(InsufficientFunds) as raised:
        venue.place_order(order(quote.symbol, Side.BUY, "1", quote.ask))
    assert raised.value.code == 10529
    with pytest.raises(InsufficientFunds):
        venue.place_order(order(quote.symbol, Side.SELL, "1", quote.bid))
    assert venue.open_orders() == []


def test_a_resting_order_the_market_passed_through_during_a_gap_fills_as_if_watched(clock):
    """Matching across a catch-up gap does not depend on how often anyone looked."""
    watched_clock = ManualClock(clock.now())
    watched, jumped = SimVenue(watched_clock, seed=7), SimVenue(clock, seed=7)
    for venue in (watched, jumped):
        quote = near_money(venue, OptionKind.CALL)
        venue.place_order(order(quote.symbol, Side.BUY, "0.3", quote.bid - 60,
                                client_order_id=1))
    for _ in range(6 * 60):
        watched_clock.advance(timedelta(minutes=1))
        watched.open_orders()
    clock.advance(timedelta(hours=6))
    since = clock.now() - timedelta(days=1)
    assert watched.fills(since)
    assert jumped.fills(since) == watched.fills(since)
