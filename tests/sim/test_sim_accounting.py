"""Positions, PnL, fees, margin and expiry settlement on the simulated venue."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.sim.accounting import short_margin_per_coin
from runner.sim.config import SimConfig
from runner.sim.venue import SimVenue
from tests.sim.helpers_sim import expiry, near_money, order

START_CASH = Decimal(100_000)


def test_a_round_trip_books_gross_pnl_and_fees_separately(venue):
    """E6: net = gross - fees, with fees captured from the fills."""
    quote = near_money(venue, OptionKind.CALL)
    venue.place_order(order(quote.symbol, Side.BUY, "0.5", quote.ask))
    venue.place_order(order(quote.symbol, Side.SELL, "0.5", quote.bid))
    fills = venue.fills(venue.server_time() - timedelta(minutes=1))
    fees = sum(f.fee for f in fills)
    gross = (quote.bid - quote.ask) * Decimal("0.5")
    assert venue.positions() == []
    assert venue.cash() == START_CASH + gross - fees
    account = venue.account()
    assert account.equity == START_CASH + gross - fees
    assert account.initial_margin == 0
    assert sum(o.realized_pnl for o in venue.order_records()) == gross


def test_taker_fee_is_three_basis_points_of_index_and_capped_at_an_eighth_of_premium(venue):
    index = venue.index_price(Underlying.BTC)
    quote = near_money(venue, OptionKind.CALL)
    venue.place_order(order(quote.symbol, Side.BUY, "0.5", quote.ask))
    cheap = near_money(venue, OptionKind.CALL, offset=8)
    venue.place_order(order(cheap.symbol, Side.BUY, "0.5", cheap.ask))
    normal, capped = venue.fills(venue.server_time() - timedelta(minutes=1))
    assert normal.fee == Decimal("0.0003") * index * Decimal("0.5")
    assert capped.fee == Decimal("0.125") * cheap.ask * Decimal("0.5")
    assert capped.fee < Decimal("0.0003") * index * Decimal("0.5")


def test_a_maker_fill_pays_the_lower_maker_fee(clock, venue):
    quote = near_money(venue, OptionKind.CALL)
    venue.place_order(order(quote.symbol, Side.BUY, "0.5", quote.bid - 100))
    venue.move_index(Underlying.BTC, Decimal(-4))
    clock.advance(timedelta(seconds=1))
    (fill,) = venue.fills(clock.now() - timedelta(minutes=1))
    assert fill.is_taker is False
    index = venue.fill_records()[0].index
    assert fill.fee == min(Decimal("0.0002") * index, Decimal("0.125") * fill.price) * fill.qty


def test_equity_and_unrealised_pnl_move_with_the_mark(clock, venue):
    quote = near_money(venue, OptionKind.CALL)
    half = Decimal("0.5")
    venue.place_order(order(quote.symbol, Side.BUY, "0.5", quote.ask))
    fee = venue.fills(clock.now() - timedelta(minutes=1))[0].fee
    venue.move_index(Underlying.BTC, Decimal(5))
    (position,) = venue.positions()
    assert position.qty == half
    assert position.avg_price == quote.ask
    assert position.mark_price > quote.mark
    assert position.unrealized_pnl == (position.mark_price - quote.ask) * half
    account = venue.account()
    assert account.unrealized_pnl == position.unrealized_pnl
    assert account.equity == START_CASH - (quote.ask - position.mark_price) * half - fee
    assert position.greeks.delta > 0


def test_averaging_in_and_partly_closing_keeps_average_and_realises_the_closed_part(venue):
    quote = near_money(venue, OptionKind.PUT)
    asks = venue.orderbook(quote.symbol).asks
    venue.place_order(order(quote.symbol, Side.BUY, "0.2", asks[0].price))
    venue.place_order(order(quote.symbol, Side.BUY, "0.2", asks[0].price + 40))
    first, second = venue.fills(venue.server_time() - timedelta(minutes=1))
    average = (first.price * first.qty + second.price * second.qty) / (first.qty + second.qty)
    assert venue.positions()[0].avg_price == average
    bid = venue.orderbook(quote.symbol).bids[0].price
    venue.place_order(order(quote.symbol, Side.SELL, "0.1", bid, reduce_only=True))
    (position,) = venue.positions()
    assert position.qty == Decimal("0.3")
    assert position.avg_price == average
    assert venue.order_records()[-1].realized_pnl == (bid - average) * Decimal("0.1")


def test_a_short_needs_initial_margin_per_the_documented_formula(venue):
    quote = near_money(venue, OptionKind.PUT, offset=-2)
    venue.place_order(order(quote.symbol, Side.SELL, "0.5", quote.bid))
    state = venue.option_state(quote.symbol)
    config = SimConfig()
    per_coin = max(Decimal("0.15") * state.index - (state.index - quote.instrument.strike),
                   Decimal("0.10") * state.index) + state.mark
    assert per_coin == short_margin_per_coin(config, quote.instrument, state.index, state.mark)
    account = venue.account()
    assert account.initial_margin == per_coin / 2
    assert 0 < account.maintenance_margin < account.initial_margin
    assert account.available_margin == account.equity - account.initial_margin


def test_working_orders_reserve_margin(venue):
    before = venue.account().available_margin
    quote = near_money(venue, OptionKind.CALL)
    price = quote.bid - 200
    venue.place_order(order(quote.symbol, Side.BUY, "0.5", price))
    assert venue.account().available_margin < before - price / 2


def test_insufficient_available_margin_is_refused_with_10529(venue):
    venue.set_cash(Decimal(500))
    quote = near_money(venue, OptionKind.PUT)
    with pytest.raises(Exception, match="10529"):
        venue.place_order(order(quote.symbol, Side.BUY, "1", quote.ask))
    venue.place_order(order(quote.symbol, Side.BUY, "0.01", quote.ask))
    assert venue.positions()[0].qty == Decimal("0.01")


@pytest.mark.parametrize("kind", [OptionKind.CALL, OptionKind.PUT])
@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_expiring_positions_settle_at_intrinsic_value_against_the_0800_index(clock, kind,
                                                                              side):
    """G1, G2: expiry settles at intrinsic value, never at 0 whatever the moneyness."""
    venue = SimVenue(clock, seed=21)
    quote = near_money(venue, kind, position=0, offset=-1 if kind is OptionKind.CALL else 1)
    price = quote.ask if side is Side.BUY else quote.bid
    venue.place_order(order(quote.symbol, side, "0.5", price))
    cash_before = venue.cash()
    moment = expiry(venue, 0)
    venue.set_index(Underlying.BTC, quote.instrument.strike + (3000 if kind is OptionKind.CALL
                                                                else -3000))
    clock.set(moment + timedelta(hours=1))
    assert venue.positions() == []
    (record,) = venue.exercise_records()
    delivery = venue.delivery_prices(Underlying.BTC)[0]
    assert delivery.expiry == moment
    assert record.settlement_price == delivery.price
    intrinsic = quote.instrument.intrinsic_value(delivery.price)
    assert intrinsic > 0
    signed = Decimal("0.5") * side.sign
    assert record.intrinsic_value == intrinsic
    assert record.net_cash_flow == intrinsic * signed - record.fee
    assert record.fee > 0
    assert record.realized_pnl == (intrinsic - price) * signed
    assert venue.cash() == cash_before + record.net_cash_flow
    assert venue.account().equity == venue.cash()


def test_an_option_expiring_out_of_the_money_settles_at_zero_without_fee(clock, venue):
    quote = near_money(venue, OptionKind.CALL, position=0, offset=4)
    venue.place_order(order(quote.symbol, Side.BUY, "0.5", quote.ask))
    venue.set_index(Underlying.BTC, quote.instrument.strike - 5000)
    clock.set(expiry(venue, 0) + timedelta(seconds=1))
    (record,) = venue.exercise_records()
    assert record.net_cash_flow == 0
    assert record.fee == 0
    assert record.realized_pnl == -quote.ask / 2
