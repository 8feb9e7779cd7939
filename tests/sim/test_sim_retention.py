"""The simulated venue forgets finished history older than its window, never working orders.

Issue 12: memory flat over a simulated year. A finished order (with its fills), an RFQ no
longer active, block trades and exercises are forgotten once they are older than the
venue's `history_retention`; working orders and active RFQs never are; a forgotten order's
client order id is still refused (D3: client ids are never reusable), also after a restart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import OrderStatus, Side, TimeInForce
from runner.domain.rfq import RfqLeg, RfqState
from runner.exchange.errors import ExchangeRejected
from runner.sim.id_set import CompactIdSet
from runner.sim.venue import SimVenue
from runner.sim.venue_records import fill_history, order_history
from tests.sim.helpers_sim import near_money, order

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(hours=1)


@pytest.fixture
def venue(clock: ManualClock) -> SimVenue:
    return SimVenue(clock, seed=7, history_retention=WINDOW)


def bought_and_resting(venue: SimVenue) -> tuple[int, int, int]:
    """(order id of a filled buy, its client id, order id of a buy resting far below the
    market, in an option weeks from expiry)."""
    call = near_money(venue, OptionKind.CALL, position=1)
    bought = order(call.symbol, Side.BUY, "0.1", call.ask)
    filled = venue.place_order(bought)
    weeks_away = near_money(venue, OptionKind.CALL, position=5)
    resting = venue.place_order(order(weeks_away.symbol, Side.BUY, "0.1", Decimal(5)))
    assert venue.get_order(order_id=filled).status is OrderStatus.FILLED
    return filled, bought.client_order_id, resting


def test_a_finished_order_is_forgotten_after_the_window_a_working_one_never(
        clock: ManualClock, venue: SimVenue) -> None:
    filled, client_id, resting = bought_and_resting(venue)
    clock.advance(WINDOW * 3)
    assert venue.get_order(order_id=filled) is None
    assert venue.get_order(client_order_id=client_id) is None
    assert venue.fills(EPOCH) == []
    assert [o.order_id for o in venue.order_records()] == [resting]
    working = venue.get_order(order_id=resting)
    assert working is not None
    assert working.status is OrderStatus.NEW
    assert [o.order_id for o in venue.open_orders()] == [resting]
    clock.advance(timedelta(days=3))
    assert [o.order_id for o in venue.open_orders()] == [resting]


def test_a_forgotten_orders_client_id_is_still_refused_also_after_a_restart(
        clock: ManualClock, venue: SimVenue) -> None:
    """D3: a client order id is never reusable, even once the venue forgot its order."""
    _, client_id, _ = bought_and_resting(venue)
    clock.advance(WINDOW * 3)
    call = near_money(venue, OptionKind.CALL, position=1)
    again = order(call.symbol, Side.BUY, "0.1", call.ask, client_order_id=client_id)
    with pytest.raises(ExchangeRejected, match="10577"):
        venue.place_order(again)
    restored = SimVenue.from_state(clock, venue.export_state())
    with pytest.raises(ExchangeRejected, match="10577"):
        restored.place_order(again)
    assert restored.export_state()["matcher"] == venue.export_state()["matcher"]


def test_history_readers_within_the_window_still_see_the_fills(
        clock: ManualClock, venue: SimVenue) -> None:
    filled, client_id, resting = bought_and_resting(venue)
    clock.advance(WINDOW / 2)
    now = clock.now()
    assert [f.order_id for f in venue.fills(EPOCH)] == [filled]
    found = venue.get_order(client_order_id=client_id)
    assert found is not None
    assert (found.order_id, found.filled_qty) == (filled, Decimal("0.1"))
    assert [h.fill.order_id for h in fill_history(venue, EPOCH, now)] == [filled]
    assert {h.order.order_id for h in order_history(venue, now, EPOCH, now)} == {filled, resting}


def test_a_finished_rfq_and_its_block_trade_are_forgotten_an_active_one_is_not(
        clock: ManualClock, venue: SimVenue) -> None:
    legs = (RfqLeg(near_money(venue, OptionKind.CALL, offset=2).symbol, Side.SELL,
                   Decimal("0.5")),
            RfqLeg(near_money(venue, OptionKind.PUT, offset=-2).symbol, Side.SELL,
                   Decimal("0.5")))
    accepted = venue.create_rfq(legs)
    clock.advance(timedelta(seconds=10))
    quote = next(q for q in venue.rfq_quotes(accepted.request_id) if q.matches_direction(legs))
    venue.accept_quote(accepted.request_id, quote.quote_id)
    assert len(venue.block_trades(EPOCH)) == 1
    clock.advance(WINDOW * 2 - timedelta(minutes=1))
    quoting = venue.create_rfq(legs)  # active for an hour
    clock.advance(timedelta(minutes=2))
    assert venue.block_trades(EPOCH) == []
    assert venue.rfq_view(accepted.request_id) is None
    assert [r.request_id for r in venue.rfq_records()] == [quoting.request_id]
    assert venue.rfq_view(quoting.request_id).state is RfqState.ACTIVE


def test_a_long_run_holds_a_bounded_history(clock: ManualClock) -> None:
    """Twenty simulated days of an order an hour (filled, closed or cancelled): the orders,
    fills and exercises held never exceed what the window and one forget step can hold."""
    venue = SimVenue(clock, seed=7, history_retention=timedelta(hours=6))
    held_orders, held_fills, placed = [], [], 0
    for hour in range(20 * 24):
        clock.advance(timedelta(hours=1))
        call = near_money(venue, OptionKind.CALL, position=0)
        if hour % 3 == 0:
            venue.place_order(order(call.symbol, Side.BUY, "0.01", call.ask,
                                    tif=TimeInForce.IOC))
        elif hour % 3 == 1:
            for position in venue.positions():
                book = venue.orderbook(position.symbol)
                if book.bids:
                    venue.place_order(order(position.symbol, Side.SELL, str(position.qty),
                                            book.bids[0].price, reduce_only=True,
                                            tif=TimeInForce.IOC))
        else:
            cancelled = venue.place_order(order(call.symbol, Side.BUY, "0.01", Decimal(5)))
            venue.cancel_order(order_id=cancelled)
        placed += 1
        held_orders.append(len(venue.order_records()))
        held_fills.append(len(venue.fill_records()))
    assert placed == 480
    assert max(held_orders) <= 12 + 1  # (6 h window + 6 h step) at one order an hour
    assert max(held_fills) <= 12 + 1
    assert len(venue.exercise_records()) <= 1
    assert venue.forgotten > 400


def test_a_venue_without_a_window_keeps_everything(clock: ManualClock) -> None:
    venue = SimVenue(clock, seed=7, history_retention=None)
    filled, _, _ = bought_and_resting(venue)
    clock.advance(timedelta(days=30))
    assert venue.get_order(order_id=filled) is not None
    assert len(venue.fills(EPOCH)) == 1


def test_forgetting_moves_the_saved_state_version(clock: ManualClock, venue: SimVenue) -> None:
    """A forget changes what would be saved, so the saver writes again."""
    bought_and_resting(venue)
    version = venue.state_version()
    clock.advance(WINDOW * 3)
    assert venue.state_version() > version


def test_the_compact_id_set_holds_any_long() -> None:
    ids = CompactIdSet([5, 2**62 + 3, -7])
    ids.update([9, 5, 2**70, 1])
    assert [i in ids for i in (1, 5, 9, -7, 2**62 + 3, 2**70)] == [True] * 6
    assert [i in ids for i in (0, 2, 2**62, 2**71, "5")] == [False] * 5
    assert list(ids) == [-7, 1, 5, 9, 2**62 + 3, 2**70]
    assert len(ids) == 6


def test_the_index_and_books_are_unaffected_by_forgetting(clock: ManualClock) -> None:
    """Forgetting is bookkeeping only: the market of a venue that forgets is the same."""
    forgetting = SimVenue(clock, seed=7, history_retention=timedelta(minutes=5))
    keeping = SimVenue(clock, seed=7, history_retention=None)
    for venue in (forgetting, keeping):
        bought_and_resting(venue)
    clock.advance(timedelta(hours=5))
    assert forgetting.index_price(Underlying.BTC) == keeping.index_price(Underlying.BTC)
    assert forgetting.account() == keeping.account()
    assert forgetting.positions() == keeping.positions()
