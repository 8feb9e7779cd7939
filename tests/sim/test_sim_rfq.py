"""RFQ block trades on the simulated venue: makers, two-way quotes, expiry, atomic accept."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.instruments import OptionKind
from runner.domain.orders import Side
from runner.domain.rfq import QuoteState, RfqLeg, RfqState
from runner.exchange.errors import ExchangeRejected, InsufficientFunds
from runner.sim.records import TRADE_TYPE_BLOCK
from tests.sim.helpers_sim import near_money


def _strangle(venue) -> tuple[RfqLeg, RfqLeg]:
    call = near_money(venue, OptionKind.CALL, offset=2)
    put = near_money(venue, OptionKind.PUT, offset=-2)
    return (RfqLeg(call.symbol, Side.SELL, Decimal("0.5")),
            RfqLeg(put.symbol, Side.SELL, Decimal("0.5")))


def _quoted(clock, venue, legs):
    request = venue.create_rfq(legs)
    clock.advance(timedelta(seconds=10))
    return request, venue.rfq_quotes(request.request_id)


def test_makers_answer_after_a_delay_in_both_directions(clock, venue):
    legs = _strangle(venue)
    request = venue.create_rfq(legs)
    assert request.state is RfqState.ACTIVE
    assert request.expires_at - request.created_at == timedelta(hours=1)
    clock.advance(timedelta(seconds=1))
    assert venue.rfq_quotes(request.request_id) == []
    clock.advance(timedelta(seconds=9))
    quotes = venue.rfq_quotes(request.request_id)
    assert len(quotes) == 4  # two makers, two directions each
    ours = [q for q in quotes if q.matches_direction(legs)]
    reverse = [q for q in quotes if not q.matches_direction(legs)]
    assert len(ours) == 2
    assert len(reverse) == 2
    for quote in ours:  # makers buy what we sell: a credit to us
        assert all(leg.maker_side is Side.BUY for leg in quote.legs)
        assert quote.taker_cost() < 0
    for quote in reverse:
        assert all(leg.maker_side is Side.SELL for leg in quote.legs)
        assert quote.taker_cost() > 0


def test_quotes_are_priced_around_the_mark_with_a_spread(clock, venue):
    legs = _strangle(venue)
    _, quotes = _quoted(clock, venue, legs)
    for quote in quotes:
        for leg in quote.legs:
            mark = venue.option_state(leg.symbol).mark
            if leg.maker_side is Side.SELL:
                assert mark < leg.price < mark * Decimal("1.1")
            else:
                assert mark * Decimal("0.9") < leg.price < mark


def test_quotes_expire_after_five_minutes_and_makers_quote_again(clock, venue):
    request, first = _quoted(clock, venue, _strangle(venue))
    clock.advance(timedelta(minutes=5))
    quotes = venue.rfq_quotes(request.request_id)
    old = [q for q in quotes if q.quote_id in {f.quote_id for f in first}]
    assert {q.state for q in old} == {QuoteState.EXPIRED}
    assert any(q.state is QuoteState.OPEN for q in quotes if q not in old)
    with pytest.raises(ExchangeRejected) as raised:
        venue.accept_quote(request.request_id, first[0].quote_id)
    assert raised.value.code == 50014


def test_a_request_expires_after_an_hour_and_can_no_longer_be_accepted(clock, venue):
    request, _ = _quoted(clock, venue, _strangle(venue))
    clock.advance(timedelta(hours=1))
    assert venue.rfq_view(request.request_id).state is RfqState.EXPIRED
    quotes = venue.rfq_quotes(request.request_id)
    assert all(q.state is QuoteState.EXPIRED for q in quotes)
    assert all(q.expires_at <= request.expires_at for q in quotes)
    with pytest.raises(ExchangeRejected):
        venue.accept_quote(request.request_id, quotes[-1].quote_id)


def test_accepting_fills_every_leg_at_once_at_the_quote_prices(clock, venue):
    legs = _strangle(venue)
    request, quotes = _quoted(clock, venue, legs)
    chosen = next(q for q in quotes if q.matches_direction(legs))
    cash = venue.cash()
    trade = venue.accept_quote(request.request_id, chosen.quote_id)
    assert trade.request_id == request.request_id
    assert trade.quote_id == chosen.quote_id
    assert [(leg.symbol, leg.side, leg.price, leg.qty) for leg in trade.legs] == [
        (q.symbol, q.taker_side, q.price, q.qty) for q in chosen.legs]
    assert all(leg.fee > 0 for leg in trade.legs)
    positions = {p.symbol: p.qty for p in venue.positions()}
    assert positions == {leg.symbol: -leg.qty for leg in legs}
    fees = sum(leg.fee for leg in trade.legs)
    assert venue.cash() == cash - chosen.taker_cost() - fees
    assert venue.rfq_view(request.request_id).state is RfqState.FILLED
    states = {q.quote_id: q.state for q in venue.rfq_quotes(request.request_id)}
    assert states.pop(chosen.quote_id) is QuoteState.FILLED
    assert set(states.values()) == {QuoteState.CANCELLED}
    assert venue.block_trades(request.created_at) == [trade]
    block_orders = [o for o in venue.order_records() if o.trade_type == TRADE_TYPE_BLOCK]
    assert len(block_orders) == 2
    with pytest.raises(ExchangeRejected):  # not idempotent: a second accept is refused
        venue.accept_quote(request.request_id, chosen.quote_id)


def test_an_accept_without_the_margin_for_it_changes_nothing(clock, venue):
    legs = _strangle(venue)
    request, quotes = _quoted(clock, venue, legs)
    venue.set_cash(Decimal(1000))
    with pytest.raises(InsufficientFunds):
        venue.accept_quote(request.request_id, next(q.quote_id for q in quotes
                                                    if q.matches_direction(legs)))
    assert venue.positions() == []
    assert venue.rfq_view(request.request_id).state is RfqState.ACTIVE


def test_a_request_below_the_minimum_notional_is_refused(venue):
    call = near_money(venue, OptionKind.CALL)
    with pytest.raises(ExchangeRejected) as raised:
        venue.create_rfq([RfqLeg(call.symbol, Side.BUY, Decimal("0.5"))])  # ~43,500 USD
    assert raised.value.code == 10001
    assert "notional" in raised.value.message


def test_a_single_leg_sell_request_is_refused(venue):
    """B13: single-leg RFQs must be sent as BUY; sell by accepting the maker-BUY quote."""
    put = near_money(venue, OptionKind.PUT)
    with pytest.raises(ExchangeRejected) as raised:
        venue.create_rfq([RfqLeg(put.symbol, Side.SELL, Decimal(1))])
    assert raised.value.code == 10004


def test_a_single_leg_buy_request_offers_a_maker_buy_quote_to_sell_into(clock, venue):
    put = near_money(venue, OptionKind.PUT)
    request, quotes = _quoted(clock, venue, [RfqLeg(put.symbol, Side.BUY, Decimal(1))])
    selling = next(q for q in quotes if q.legs[0].maker_side is Side.BUY)
    trade = venue.accept_quote(request.request_id, selling.quote_id)
    assert trade.legs[0].side is Side.SELL
    assert venue.positions()[0].qty == -1


def test_cancelling_a_request_ends_it_and_its_quotes(clock, venue):
    request, _ = _quoted(clock, venue, _strangle(venue))
    venue.cancel_rfq(request.request_id)
    assert venue.rfq_view(request.request_id).state is RfqState.CANCELLED
    assert {q.state for q in venue.rfq_quotes(request.request_id)} == {QuoteState.CANCELLED}
    venue.cancel_rfq(request.request_id)  # already final: not an error
    clock.advance(timedelta(minutes=10))
    assert {q.state for q in venue.rfq_quotes(request.request_id)} == {QuoteState.CANCELLED}


def test_unknown_requests_are_none_on_lookup(venue):
    assert venue.rfq_view("1") is None
    with pytest.raises(ExchangeRejected):
        venue.cancel_rfq("1")


def test_makers_can_be_told_to_quote_worse_than_the_book(clock, venue):
    """B13/B14: in a fast market quotes come back ~18 % worse than the book."""
    venue.set_maker_behaviour(book_offset_pct=Decimal(-18))
    legs = _strangle(venue)
    _, quotes = _quoted(clock, venue, legs)
    for leg in next(q for q in quotes if q.matches_direction(legs)).legs:
        bid = venue.option_state(leg.symbol).quote.bid
        assert leg.price <= bid * Decimal("0.82") + 1


def test_silenced_makers_never_answer(clock, venue):
    venue.set_maker_behaviour(enabled=False)
    request, quotes = _quoted(clock, venue, _strangle(venue))
    clock.advance(timedelta(minutes=30))
    assert venue.rfq_quotes(request.request_id) == []
    assert quotes == []
