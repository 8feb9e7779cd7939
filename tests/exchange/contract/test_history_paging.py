"""History paging as the docs describe it, on both sides (issue 8 findings 4 and 5).

The simulator pages `trade-detail/private` newest first (`direction=NEXT`: ids below
`fromId`) and `trade/history` by the general rule unless set to the "minimum tradeId"
reading; the adapter reads both calls page by page, stops as soon as a page reaches rows
older than `since`, never reads a row twice, and is right whichever way `fromId` is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from helpers_simserver import KEY, SECRET, Caller, code_of, data_of

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import OrderRequest, Side
from runner.domain.rfq import BlockTrade, RfqLeg
from runner.exchange.coincall import client as client_module
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.paging import read_pages
from runner.service.settings import Secret
from runner.sim.paging import FillsPaging
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue

DETAIL = "/open/option/blocktrade/trade-detail/private/v1"
FILLS = "/open/option/trade/history/v1"


class CountingSession(requests.Session):
    """A plain requests session that remembers the path of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def request(self, method: str | bytes, url: str | bytes,  # type: ignore[override]
                *args: Any, **kwargs: Any) -> requests.Response:
        self.paths.append(urlsplit(str(url)).path)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def session() -> CountingSession:
    return CountingSession()


@pytest.fixture
def client(server: SimServer, sim_clock: ManualClock,
           session: CountingSession) -> Iterator[CoincallClient]:
    with CoincallClient(base_url=server.base_url, api_key=Secret(KEY),
                        api_secret=Secret(SECRET), clock=sim_clock,
                        session=session) as rest:
        yield rest


def _call_option(venue: SimVenue) -> str:
    index = venue.index_price(Underlying.BTC)
    expiry = sorted({q.instrument.expiry for q in venue.option_chain(Underlying.BTC)})[1]
    calls = [q for q in venue.option_chain(Underlying.BTC, expiry)
             if q.instrument.kind is OptionKind.CALL]
    return min(calls, key=lambda q: abs(q.instrument.strike - index)).symbol


def block_trades_a_minute_apart(venue: SimVenue, clock: ManualClock,
                                count: int) -> list[BlockTrade]:
    """`count` accepted RFQs on one call, alternately bought and sold, oldest first."""
    symbol = _call_option(venue)
    done = []
    for number in range(count):
        request = venue.create_rfq([RfqLeg(symbol, Side.BUY, Decimal(1))])  # single leg: BUY
        clock.advance(timedelta(seconds=10))
        maker_side = Side.SELL if number % 2 == 0 else Side.BUY  # we buy, then sell
        quote = next(q for q in venue.rfq_quotes(request.request_id)
                     if q.legs[0].maker_side is maker_side)
        done.append(venue.accept_quote(request.request_id, quote.quote_id))
        clock.advance(timedelta(seconds=50))
    return done


def fills_a_minute_apart(venue: SimVenue, clock: ManualClock, count: int) -> list[int]:
    """`count` marketable sells of 0.1 (each fills at once), oldest first: the order ids."""
    symbol = _call_option(venue)
    placed = []
    for number in range(count):
        quote = next(q for q in venue.option_chain(Underlying.BTC) if q.symbol == symbol)
        assert quote.bid is not None
        placed.append(venue.place_order(OrderRequest(
            symbol=symbol, side=Side.SELL, qty=Decimal("0.1"), price=quote.bid,
            client_order_id=7000 + number)))
        clock.advance(timedelta(minutes=1))
    return placed


# -- the simulator ------------------------------------------------------------------------
def test_trade_detail_pages_newest_first_to_older_ids_with_next(
        caller: Caller, venue: SimVenue, sim_clock: ManualClock) -> None:
    trades = block_trades_a_minute_apart(venue, sim_clock, 5)
    ids = [t.block_trade_id for t in reversed(trades)]  # newest first
    first = data_of(caller.get(DETAIL, {"fromId": 0, "direction": "NEXT", "pageSize": 2}))
    assert [row["blockTradeId"] for row in first["list"]] == ids[:2]
    assert (first["hasNext"], first["hasPrev"]) == (True, False)
    second = data_of(caller.get(DETAIL, {"fromId": ids[1], "pageSize": 2}))  # NEXT: default
    assert [row["blockTradeId"] for row in second["list"]] == ids[2:4]
    assert (second["hasNext"], second["hasPrev"]) == (True, True)
    last = data_of(caller.get(DETAIL, {"fromId": ids[3], "pageSize": 2}))
    assert [row["blockTradeId"] for row in last["list"]] == ids[4:]
    assert last["hasNext"] is False


def test_trade_detail_pages_back_to_newer_ids_with_prev(
        caller: Caller, venue: SimVenue, sim_clock: ManualClock) -> None:
    ids = [t.block_trade_id for t in reversed(block_trades_a_minute_apart(venue, sim_clock, 4))]
    newer = data_of(caller.get(DETAIL, {"fromId": ids[3], "direction": "PREV",
                                        "pageSize": 2}))
    assert [row["blockTradeId"] for row in newer["list"]] == [ids[1], ids[2]]
    assert newer["hasNext"] is True  # still newer ones
    assert code_of(caller.get(DETAIL, {"direction": "SIDEWAYS"})) == 10004


def test_trade_history_pages_newest_first_by_default_and_oldest_first_when_set(
        server: SimServer, caller: Caller, venue: SimVenue, sim_clock: ManualClock) -> None:
    fills_a_minute_apart(venue, sim_clock, 3)
    newest_first = data_of(caller.get(FILLS, {"pageSize": 2}))["list"]
    assert [row["time"] for row in newest_first] == sorted(
        (row["time"] for row in newest_first), reverse=True)
    older = data_of(caller.get(FILLS, {"pageSize": 2, "fromId": newest_first[-1]["tradeId"]}))
    assert [row["tradeId"] < newest_first[-1]["tradeId"] for row in older["list"]] == [True]
    server.api.fills_paging = FillsPaging.OLDEST_FIRST
    oldest_first = data_of(caller.get(FILLS, {"pageSize": 2}))["list"]
    assert [row["tradeId"] for row in oldest_first] == sorted(
        row["tradeId"] for row in oldest_first)
    assert oldest_first[0]["tradeId"] == older["list"][0]["tradeId"]


# -- the adapter --------------------------------------------------------------------------
def test_block_trades_stop_at_the_first_page_reaching_before_since(
        client: CoincallClient, session: CountingSession, venue: SimVenue,
        sim_clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 4: 8 trades, pages of 2, `since` between the 4th and 5th newest: 3 pages."""
    monkeypatch.setattr(client_module, "_BLOCK_TRADE_PAGE_SIZE", 2)
    trades = block_trades_a_minute_apart(venue, sim_clock, 8)
    since = trades[4].at
    assert since is not None
    found = client.block_trades(since)
    assert [t.block_trade_id for t in found] == [t.block_trade_id for t in trades[4:]]
    assert session.paths.count(DETAIL) == 3  # [8,7] [6,5] [4,3]: stops there


def test_block_trades_since_the_last_minute_read_one_page(
        client: CoincallClient, session: CountingSession, venue: SimVenue,
        sim_clock: ManualClock) -> None:
    trades = block_trades_a_minute_apart(venue, sim_clock, 3)
    assert [t.block_trade_id for t in client.block_trades(sim_clock.now())] == []
    assert client.block_trades(trades[0].at or sim_clock.now()) == sorted(
        trades, key=lambda t: (t.at, t.block_trade_id))
    assert session.paths.count(DETAIL) == 2


@pytest.mark.parametrize("reading", [FillsPaging.NEWEST_FIRST, FillsPaging.OLDEST_FIRST])
def test_fills_are_read_once_each_whichever_way_from_id_is_read(
        reading: FillsPaging, server: SimServer, client: CoincallClient,
        session: CountingSession, venue: SimVenue, sim_clock: ManualClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 5: 5 fills in pages of 2 under both readings of `fromId`: 3 pages, 5 fills."""
    monkeypatch.setattr(client_module, "_HISTORY_PAGE_SIZE", 2)
    server.api.fills_paging = reading
    start = sim_clock.now()
    orders = fills_a_minute_apart(venue, sim_clock, 5)
    found = client.fills(start)
    assert [f.order_id for f in found] == orders
    assert len({f.trade_id for f in found}) == 5
    assert session.paths.count(FILLS) == 3


# -- the paging rule itself -----------------------------------------------------------------
class Row:
    def __init__(self, number: int, at: datetime) -> None:
        self.id = str(number)
        self.at = at


T0 = datetime(2026, 1, 1, 8).astimezone()


def test_a_server_that_answers_the_same_page_again_is_read_twice_at_most() -> None:
    page = [Row(9, T0), Row(8, T0)]
    calls: list[Mapping[str, object]] = []

    def same_page(query: Mapping[str, object]) -> tuple[list[Row], bool]:
        calls.append(dict(query))
        return page, True

    found = read_pages(same_page, {"fromId": 0}, row_id=lambda r: r.id, row_at=lambda r: r.at,
                       since=T0, max_pages=50)
    assert [r.id for r in found] == ["9", "8"]
    assert [call["fromId"] for call in calls] == [0, 8]


def test_paging_stops_after_max_pages_and_on_a_non_numeric_cursor() -> None:
    def endless(query: Mapping[str, object]) -> tuple[list[Row], bool]:
        cursor = int(str(query["fromId"])) or 100
        return [Row(cursor - 1, T0)], True

    assert len(read_pages(endless, {"fromId": 0}, row_id=lambda r: r.id,
                          row_at=lambda r: r.at, since=T0, max_pages=4)) == 4
    odd = read_pages(lambda _q: ([Row(1, T0)], True), {}, row_id=lambda _r: "x1",
                     row_at=lambda r: r.at, since=T0, max_pages=4)
    assert len(odd) == 1
