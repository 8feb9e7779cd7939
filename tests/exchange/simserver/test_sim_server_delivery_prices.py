"""`get-delivery-prices/v1` served by the simulator, and the delivery price under faults (G2).

The sim answers with the field names the REST client reads first (`deliveryPrice`,
`deliveryTime` in epoch ms), from the venue's delivery records; FaultyExchange fails the
port's `delivery_price` like any other read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from helpers_simserver import KEY, SECRET, Caller, code_of, data_of

from runner.domain.clock import ManualClock, to_epoch_ms
from runner.domain.instruments import Underlying
from runner.exchange.errors import ExchangeUnavailable, MalformedResponse, RateLimited
from runner.exchange.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.exchange.sim.faulty import FaultyExchange
from runner.exchange.sim.server import SimServer
from runner.exchange.sim.venue import SimVenue

PATH = "/open/option/get-delivery-prices/v1"
FIRST_EXPIRY = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)  # the fixtures start at 00:00 that day


def test_nothing_is_published_before_the_first_expiry(caller: Caller) -> None:
    assert data_of(caller.get(PATH, {"symbol": "BTCUSD"})) == []


def test_settled_expiries_are_served_newest_first_from_the_venue(
        caller: Caller, venue: SimVenue, sim_clock: ManualClock) -> None:
    sim_clock.set(FIRST_EXPIRY + timedelta(days=1, minutes=3))
    rows = data_of(caller.get(PATH, {"symbol": "BTCUSD"}))
    assert [row["deliveryTime"] for row in rows] == [to_epoch_ms(FIRST_EXPIRY + timedelta(days=1)),
                                                     to_epoch_ms(FIRST_EXPIRY)]
    for row in rows:
        assert set(row) == {"symbol", "deliveryPrice", "deliveryTime"}
        assert row["symbol"] == "BTCUSD"
        expiry = datetime.fromtimestamp(row["deliveryTime"] / 1000, tz=UTC)
        assert Decimal(str(row["deliveryPrice"])) == venue.delivery_price(Underlying.BTC, expiry)


def test_the_call_is_public(server: SimServer, sim_clock: ManualClock) -> None:
    sim_clock.set(FIRST_EXPIRY + timedelta(minutes=1))
    answer = requests.get(server.base_url + PATH, params={"symbol": "ETHUSD"}, timeout=5)
    (row,) = data_of(answer)
    assert row["symbol"] == "ETHUSD"


def test_an_unknown_index_answers_10579_and_a_missing_symbol_10004(
        caller: Caller, sim_clock: ManualClock) -> None:
    assert code_of(caller.get(PATH, {"symbol": "DOGEUSD"})) == 10579
    sim_clock.advance(timedelta(seconds=1))  # the call is limited to 1 / s (section 7)
    assert code_of(caller.get(PATH)) == 10004


class PortOnly:
    """An Exchange offering the port and nothing else (no record accessors)."""

    def __init__(self, venue: SimVenue) -> None:
        self._venue = venue

    def delivery_price(self, underlying: Underlying, expiry: datetime) -> Decimal | None:
        return self._venue.delivery_price(underlying, expiry)


@pytest.fixture
def port_only_caller(venue: SimVenue, sim_clock: ManualClock) -> Iterator[Caller]:
    with SimServer(PortOnly(venue), KEY, SECRET, sim_clock) as running:  # type: ignore[arg-type]
        client = Caller(running.base_url, sim_clock)
        yield client
        client.close()


def test_a_venue_without_records_is_served_from_the_port(
        port_only_caller: Caller, venue: SimVenue, sim_clock: ManualClock) -> None:
    sim_clock.set(FIRST_EXPIRY + timedelta(days=2, hours=1))
    rows = data_of(port_only_caller.get(PATH, {"symbol": "BTCUSD"}))
    assert [row["deliveryTime"] for row in rows] == [
        to_epoch_ms(FIRST_EXPIRY + timedelta(days=days)) for days in (2, 1, 0)]
    assert [Decimal(str(row["deliveryPrice"])) for row in rows] == [
        d.price for d in venue.delivery_prices(Underlying.BTC)]


def test_a_server_fault_rule_hits_the_delivery_prices_call(
        caller: Caller, plan: FaultPlan, sim_clock: ManualClock) -> None:
    sim_clock.set(FIRST_EXPIRY + timedelta(minutes=1))
    plan.add(FaultRule("delivery_price", FaultKind.ERROR, code=10000, count=1))
    assert code_of(caller.get(PATH, {"symbol": "BTCUSD"})) == 10000
    assert len(data_of(caller.get(PATH, {"symbol": "BTCUSD"}))) == 1


@pytest.mark.parametrize(("kind", "error"), [(FaultKind.HTTP_5XX, ExchangeUnavailable),
                                             (FaultKind.TIMEOUT, ExchangeUnavailable),
                                             (FaultKind.RATE_LIMIT, RateLimited),
                                             (FaultKind.MALFORMED, MalformedResponse)])
def test_faulty_exchange_faults_the_delivery_price_like_any_read(
        venue: SimVenue, sim_clock: ManualClock, kind: FaultKind,
        error: type[Exception]) -> None:
    sim_clock.set(FIRST_EXPIRY + timedelta(seconds=30))
    plan = FaultPlan.of(FaultRule("delivery_price", kind, count=1, seconds=0.5))
    exchange = FaultyExchange(venue, plan, sim_clock)
    with pytest.raises(error):
        exchange.delivery_price(Underlying.BTC, FIRST_EXPIRY)
    assert exchange.delivery_price(Underlying.BTC, FIRST_EXPIRY) == venue.delivery_price(
        Underlying.BTC, FIRST_EXPIRY)
    assert plan.fired() == [1]
