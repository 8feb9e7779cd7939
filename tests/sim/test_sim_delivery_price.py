"""The venue's delivery (settlement) price through the port: G2's source of truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying, parse_symbol
from runner.domain.orders import Side
from runner.sim.venue import SimVenue
from tests.sim.helpers_sim import order

BEFORE = datetime(2026, 3, 2, 7, 50, tzinfo=UTC)
EXPIRY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_no_delivery_price_before_the_expiry_moment():
    """G2: nothing is published before 08:00, so nothing can be settled against."""
    clock = ManualClock(BEFORE)
    venue = SimVenue(clock, seed=3)
    assert venue.delivery_price(Underlying.BTC, EXPIRY) is None
    clock.advance(timedelta(minutes=9, seconds=59))
    assert venue.delivery_price(Underlying.BTC, EXPIRY) is None


def test_the_delivery_price_is_the_index_at_exactly_0800_whenever_it_is_asked():
    """G2: a look at 08:00:07 gets the 08:00:00 index, not the index at 08:00:07."""
    twin_clock = ManualClock(BEFORE)
    twin = SimVenue(twin_clock, seed=3)  # same seed, same index path
    twin_clock.set(EXPIRY)
    at_0800 = twin.index_price(Underlying.BTC)
    clock = ManualClock(BEFORE)
    venue = SimVenue(clock, seed=3)
    clock.set(EXPIRY + timedelta(seconds=7))
    assert venue.delivery_price(Underlying.BTC, EXPIRY) == at_0800
    assert venue.index_price(Underlying.BTC) != at_0800
    clock.advance(timedelta(hours=3))
    assert venue.delivery_price(Underlying.BTC, EXPIRY) == at_0800  # it never changes
    (recorded,) = [d for d in venue.delivery_prices(Underlying.BTC) if d.expiry == EXPIRY]
    assert recorded.price == at_0800


def test_each_underlying_has_its_own_delivery_price():
    clock = ManualClock(BEFORE)
    venue = SimVenue(clock, seed=3)
    clock.set(EXPIRY + timedelta(minutes=1))
    btc = venue.delivery_price(Underlying.BTC, EXPIRY)
    eth = venue.delivery_price(Underlying.ETH, EXPIRY)
    assert btc is not None
    assert eth is not None
    assert btc != eth


def test_an_expiry_the_venue_never_listed_has_no_delivery_price():
    clock = ManualClock(BEFORE)
    venue = SimVenue(clock, seed=3)
    clock.set(EXPIRY + timedelta(minutes=1))
    assert venue.delivery_price(Underlying.BTC, EXPIRY + timedelta(minutes=30)) is None
    assert venue.delivery_price(Underlying.BTC, EXPIRY - timedelta(days=400)) is None


def test_positions_are_settled_at_intrinsic_value_against_the_published_price():
    """G2: the exercise record's intrinsic value is measured against `delivery_price`."""
    clock = ManualClock(BEFORE)
    venue = SimVenue(clock, seed=3)
    quotes = [q for q in venue.option_chain(Underlying.BTC, EXPIRY)
              if q.instrument.kind is OptionKind.PUT and q.ask is not None]
    index = venue.index_price(Underlying.BTC)
    itm = min((q for q in quotes if q.instrument.strike > index),
              key=lambda q: q.instrument.strike)
    venue.place_order(order(itm.symbol, Side.BUY, "0.1", itm.ask))
    clock.set(EXPIRY + timedelta(seconds=3))
    delivery = venue.delivery_price(Underlying.BTC, EXPIRY)
    assert delivery is not None
    (record,) = [e for e in venue.exercise_records() if e.symbol == itm.symbol]
    strike = parse_symbol(itm.symbol).strike
    assert record.intrinsic_value == max(strike - delivery, Decimal(0))
    assert record.settlement_price == delivery


def test_the_port_serves_each_settled_position_with_the_exercise_fee_charged():
    """E6: `exercises` is what Coincall's exercise history says: the position, the price
    and the fee, whose payment is in the venue's cash change."""
    clock = ManualClock(BEFORE)
    venue = SimVenue(clock, seed=3)
    quotes = [q for q in venue.option_chain(Underlying.BTC, EXPIRY)
              if q.instrument.kind is OptionKind.PUT and q.ask is not None]
    index = venue.index_price(Underlying.BTC)
    itm = min((q for q in quotes if q.instrument.strike > index),
              key=lambda q: q.instrument.strike)
    venue.place_order(order(itm.symbol, Side.BUY, "0.1", itm.ask))
    cash_before = venue.cash()
    clock.set(EXPIRY + timedelta(seconds=3))
    (record,) = [e for e in venue.exercise_records() if e.symbol == itm.symbol]
    (row,) = [e for e in venue.exercises(BEFORE) if e.symbol == itm.symbol]
    assert row.qty == Decimal("0.1")
    assert row.fee == record.fee
    assert row.fee is not None
    assert row.fee > 0
    assert row.settlement_price == venue.delivery_price(Underlying.BTC, EXPIRY)
    assert row.at == EXPIRY
    assert venue.cash() - cash_before == record.intrinsic_value * row.qty - row.fee
    assert venue.exercises(EXPIRY + timedelta(seconds=1)) == []  # since filters
