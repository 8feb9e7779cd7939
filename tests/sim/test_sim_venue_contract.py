"""SimVenue implements the whole Exchange port, safely from many threads (lessons F7)."""

from __future__ import annotations

import inspect
import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.exchange.port import Exchange
from runner.sim.venue import SimVenue
from tests.sim.helpers_sim import near_money, order

PORT_METHODS = sorted(name for name, member in vars(Exchange).items()
                      if callable(member) and not name.startswith("_"))


def test_the_port_has_the_methods_this_test_expects():
    assert len(PORT_METHODS) == 20


@pytest.mark.parametrize("name", PORT_METHODS)
def test_every_port_method_exists_with_the_ports_signature(name):
    ours = inspect.signature(getattr(SimVenue, name))
    theirs = inspect.signature(getattr(Exchange, name))
    assert list(ours.parameters) == list(theirs.parameters)
    for parameter in theirs.parameters.values():
        mine = ours.parameters[parameter.name]
        assert mine.kind == parameter.kind
        assert mine.default == parameter.default


def test_a_venue_can_be_used_where_the_port_is_expected(venue):
    exchange: Exchange = venue
    assert exchange.server_time() == venue.server_time()


def test_every_read_of_the_port_answers_on_a_fresh_venue(clock, venue):
    since = clock.now() - timedelta(days=1)
    assert venue.instruments(Underlying.ETH)
    assert venue.option_chain(Underlying.BTC)
    assert venue.index_price(Underlying.ETH) > 0
    assert venue.open_orders() == []
    assert venue.open_orders(Underlying.BTC) == []
    assert venue.fills(since) == []
    assert venue.positions() == []
    assert venue.account().equity == Decimal(100_000)
    assert venue.block_trades(since) == []
    assert venue.exercises(since) == []  # nothing has expired yet
    assert venue.option_chain(Underlying.BTC, clock.now()) == []  # not a listed expiry
    assert venue.delivery_price(Underlying.BTC, clock.now()) is None  # never an expiry


def test_open_orders_filter_by_underlying(venue):
    btc = near_money(venue, OptionKind.CALL)
    eth = near_money(venue, OptionKind.CALL, underlying=Underlying.ETH)
    venue.place_order(order(btc.symbol, Side.BUY, "0.1", btc.bid - 100))
    venue.place_order(order(eth.symbol, Side.BUY, "1", eth.bid - 5))
    assert [o.symbol for o in venue.open_orders(Underlying.ETH)] == [eth.symbol]
    assert len(venue.open_orders()) == 2


def test_concurrent_callers_never_corrupt_the_venue(clock, venue):
    quote = near_money(venue, OptionKind.PUT)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(20):
                venue.place_order(order(quote.symbol, Side.BUY, "0.01", quote.bid - 100,
                                        client_order_id=worker * 1000 + i))
                venue.option_chain(Underlying.BTC, quote.instrument.expiry)
                venue.account()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(venue.open_orders()) == 80
    assert len({o.order_id for o in venue.open_orders()}) == 80
