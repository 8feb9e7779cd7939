"""Killed at every step of an opening, restarted: exactly one order, daily count 1 (A1, D3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runner.dispatch import Dispatcher
from runner.domain.commands import OrderAccepted, OrderRejected
from runner.reconcile import reconcile
from runner.store import open_store
from tests.dispatch.helpers_dispatch import (
    CountingExchange,
    liquid_call,
    make_venue,
    resting_buy_price,
    venue_orders,
)
from tests.store.helpers_store import make_trade, place


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs."""


class DiesAfterSending(CountingExchange):
    """The venue takes the order, then the process dies before reading the answer."""

    def place_order(self, request):
        self._inner.place_order(request)
        raise Killed


def open_trade(store, dispatcher, quote, attempt=0):
    return dispatcher.execute([place("t1", symbol=quote.symbol, qty="0.1", attempt=attempt,
                                     price=str(resting_buy_price(quote)))])


def crash_before_the_trade_is_saved(store, venue, clock, quote):
    del store, venue, clock, quote


def crash_after_the_trade_is_saved(store, venue, clock, quote):
    del venue, clock, quote
    store.save_trade(make_trade("t1"))


def crash_after_the_intent(store, venue, clock, quote):
    del venue, clock
    store.save_trade(make_trade("t1"))
    store.record_intent(place("t1", symbol=quote.symbol, qty="0.1",
                              price=str(resting_buy_price(quote))))


def crash_after_marking_it_sent(store, venue, clock, quote):
    crash_after_the_intent(store, venue, clock, quote)
    store.mark_sent(place("t1", symbol=quote.symbol, qty="0.1",
                          price=str(resting_buy_price(quote))).request.client_order_id)


def crash_after_the_exchange_accepted(store, venue, clock, quote):
    store.save_trade(make_trade("t1"))
    with pytest.raises(Killed):
        open_trade(store, Dispatcher(DiesAfterSending(venue), store, clock), quote)


def crash_after_the_outcome_was_recorded(store, venue, clock, quote):
    store.save_trade(make_trade("t1"))
    open_trade(store, Dispatcher(venue, store, clock), quote)


@pytest.mark.parametrize("crash", [
    crash_before_the_trade_is_saved, crash_after_the_trade_is_saved, crash_after_the_intent,
    crash_after_marking_it_sent, crash_after_the_exchange_accepted,
    crash_after_the_outcome_was_recorded,
])
def test_a_restart_after_a_kill_at_any_step_opens_exactly_one_order(tmp_path, clock,
                                                                   crash) -> None:
    """A1: restart inside the window; one order on the exchange and one trade today."""
    path = tmp_path / "state" / "runner.sqlite3"
    venue = make_venue(clock)
    quote = liquid_call(venue)
    store = open_store(path, clock).store
    crash(store, venue, clock, quote)
    store.close()

    clock.advance(timedelta(seconds=2))
    store = open_store(path, clock).store
    reconcile(store, venue, clock)
    dispatcher = Dispatcher(venue, store, clock)
    if store.trades_created_on("demo", clock.now().date()) == 0:
        store.save_trade(make_trade("t1", at=clock.now()))  # the engine decides again
    attempt = 0
    for _ in range(12):  # the executor, ticking: same key until it is refused
        events = open_trade(store, dispatcher, quote, attempt) + dispatcher.poll()
        if any(isinstance(e, OrderAccepted) for e in events):
            break
        if any(isinstance(e, OrderRejected) for e in events):
            attempt += 1
        clock.advance(timedelta(seconds=10))
    ours = [o for o in venue_orders(venue) if o.status.is_live]
    assert len(ours) == 1
    assert len(venue_orders(venue)) == 1
    assert store.trades_created_on("demo", clock.now().date()) == 1
