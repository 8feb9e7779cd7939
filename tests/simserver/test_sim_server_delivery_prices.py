"""`get-delivery-prices/v1` served by the simulator, and the delivery price under faults (G2).

The sim answers the documented rows (docs/exchange-evidence.md section 7, issue 8 finding
1): one `{date, delivery_price}` per UTC day, newest first, from the venue's delivery
records, which begin with the 30 daily settlements before the venue started (a back-filled
history, so a trade that expired before the start still settles). FaultyExchange fails the
port's `delivery_price` like any other read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
import requests
from helpers_simserver import KEY, SECRET, Caller, code_of, data_of

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying, expiry_at
from runner.exchange.errors import ExchangeUnavailable, MalformedResponse, RateLimited
from runner.sim.delivery_history import BACKFILL_DAYS
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.faulty import FaultyExchange
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue

PATH = "/open/option/get-delivery-prices/v1"
FIRST_EXPIRY = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)  # the fixtures start at 00:00 that day
BEFORE_START = FIRST_EXPIRY - timedelta(days=1)  # the newest back-filled settlement


def dates(rows: list[dict[str, object]]) -> list[str]:
    return [str(row["date"]) for row in rows]


def price_of(row: dict[str, object]) -> Decimal:
    assert isinstance(row["delivery_price"], float)
    return Decimal(repr(row["delivery_price"]))


def test_before_its_first_expiry_the_venue_serves_the_30_days_before_its_start(
        caller: Caller, venue: SimVenue) -> None:
    rows = data_of(caller.get(PATH, {"symbol": "BTCUSD"}))
    assert dates(rows) == [(BEFORE_START - timedelta(days=back)).date().isoformat()
                           for back in range(BACKFILL_DAYS)]
    for row in rows:
        assert set(row) == {"date", "delivery_price"}
        day = expiry_at(datetime.fromisoformat(str(row["date"])).date())
        assert price_of(row) == venue.delivery_price(Underlying.BTC, day)


def test_settled_expiries_come_first_one_row_a_day_newest_first(
        caller: Caller, venue: SimVenue, sim_clock: ManualClock) -> None:
    sim_clock.set(FIRST_EXPIRY + timedelta(days=1, minutes=3))
    rows = data_of(caller.get(PATH, {"symbol": "BTCUSD"}))
    assert dates(rows)[:3] == ["2026-01-02", "2026-01-01", "2025-12-31"]
    assert len(rows) == BACKFILL_DAYS + 2
    assert price_of(rows[0]) == venue.delivery_price(Underlying.BTC,
                                                     FIRST_EXPIRY + timedelta(days=1))


def test_the_back_filled_history_is_plausible_seeded_and_ends_near_the_start_price(
        venue: SimVenue) -> None:
    history = venue.delivery_prices(Underlying.BTC)
    prices = [d.price for d in history]
    assert len(prices) == BACKFILL_DAYS
    assert abs(prices[0] / Decimal(87_000) - 1) < Decimal("0.1")  # a day's move at 50 % vol
    moves = [abs(a / b - 1) for a, b in pairwise(prices)]
    assert max(moves) < Decimal("0.2")
    again = SimVenue(ManualClock(venue.started_at), seed=7)
    assert again.delivery_prices(Underlying.BTC) == history
    assert SimVenue(ManualClock(venue.started_at), seed=8).delivery_prices(
        Underlying.BTC) != history


def test_the_call_is_public(server: SimServer, sim_clock: ManualClock) -> None:
    sim_clock.set(FIRST_EXPIRY + timedelta(minutes=1))
    answer = requests.get(server.base_url + PATH, params={"symbol": "ETHUSD"}, timeout=5)
    assert dates(data_of(answer))[0] == "2026-01-01"


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
    assert dates(rows)[:3] == ["2026-01-03", "2026-01-02", "2026-01-01"]
    published = venue.delivery_prices(Underlying.BTC)
    assert [price_of(row) for row in rows] == [d.price for d in published][:len(rows)]


def test_a_server_fault_rule_hits_the_delivery_prices_call(
        caller: Caller, plan: FaultPlan, sim_clock: ManualClock) -> None:
    sim_clock.set(FIRST_EXPIRY + timedelta(minutes=1))
    plan.add(FaultRule("delivery_price", FaultKind.ERROR, code=10000, count=1))
    assert code_of(caller.get(PATH, {"symbol": "BTCUSD"})) == 10000
    assert dates(data_of(caller.get(PATH, {"symbol": "BTCUSD"})))[0] == "2026-01-01"


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
