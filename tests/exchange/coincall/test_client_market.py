"""CoincallClient market data, account and key checks against loopback HTTP (F7: every method)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.exchange.coincall import endpoints as ep
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.errors import AuthenticationFailed, ExchangeUnavailable
from runner.service.settings import load_settings
from runner.service.venues import coincall_client

from .conftest import KEY, SECRET, FakeCoincall, Reply

INSTRUMENTS = "/open/option/getInstruments/BTC"
CHAIN = "/open/option/get/v1/BTCUSD"
FEB27 = datetime(2026, 2, 27, 8, 0, tzinfo=UTC)
MAR27 = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)


@pytest.fixture
def listed(coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    later = dict(doc.instruments[0], symbolName="BTCUSD-27MAR26-90000-C",
                 expirationTimestamp=1774598400000)
    gone = dict(doc.instruments[0], symbolName="BTCUSD-27MAR26-95000-C", strike=95000,
                expirationTimestamp=1774598400000, isActive=False)
    coincall.always("GET", INSTRUMENTS, coincall.ok([*doc.instruments, later, gone]))


def test_server_time_reads_the_venue_clock(client: CoincallClient, coincall: FakeCoincall,
                                           clock: ManualClock) -> None:
    coincall.clock_skew_ms = 1500
    assert client.server_time() == clock.now() + timedelta(milliseconds=1500)


@pytest.mark.usefixtures("listed")
def test_instruments_lists_only_active_ones(client: CoincallClient) -> None:
    symbols = [i.symbol for i in client.instruments(Underlying.BTC)]
    assert symbols == ["BTCUSD-27FEB26-90000-C", "BTCUSD-27MAR26-90000-C"]


@pytest.mark.usefixtures("listed")
def test_a_chain_for_one_expiry_asks_for_it_and_takes_tick_and_lot_from_the_list(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    row = {"strike": 90000.0, "callOption": {"symbol": "BTCUSD-27FEB26-90000-C", "type": 1,
                                             "endTime": 1772179200000, "bid": 1290.0,
                                             "ask": 1335.0, "markPrice": 1310.6}}
    coincall.always("GET", CHAIN, coincall.ok([*doc.chain, row]))
    quotes = client.option_chain(Underlying.BTC, FEB27)
    assert {q.symbol for q in quotes} == {"BTCUSD-27FEB26-80000-P", "BTCUSD-27FEB26-90000-C"}
    call = next(q for q in quotes if q.symbol.endswith("-C"))
    assert call.instrument.tick_size == 1
    assert call.mid == Decimal("1312.5")
    [sent] = coincall.sent(CHAIN)
    assert sent.params == {"endTime": "1772179200000"}
    assert sent.signature_valid is True


@pytest.mark.usefixtures("listed")
def test_chains_are_cached_and_fresh_reads_again_before_pricing(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    coincall.always("GET", CHAIN, coincall.ok(doc.chain))
    client.option_chain(Underlying.BTC, FEB27)
    client.option_chain(Underlying.BTC, FEB27)
    assert len(coincall.sent(CHAIN)) == 1
    client.option_chain(Underlying.BTC, FEB27, fresh=True)
    assert len(coincall.sent(CHAIN)) == 2


@pytest.mark.usefixtures("listed")
def test_the_whole_chain_is_read_expiry_by_expiry(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    march = [{"strike": 90000.0, "callOption": {"symbol": "BTCUSD-27MAR26-90000-C", "type": 1,
                                                "endTime": 1774598400000, "bid": 2000}}]
    coincall.script("GET", CHAIN, coincall.ok(doc.chain), coincall.ok(march))
    quotes = client.option_chain(Underlying.BTC)
    assert [q.instrument.expiry for q in quotes] == [FEB27, MAR27]
    assert [r.params["endTime"] for r in coincall.sent(CHAIN)] == ["1772179200000",
                                                                   "1774598400000"]


def test_the_orderbook_is_read_live_every_time(client: CoincallClient, coincall: FakeCoincall,
                                               doc: SimpleNamespace) -> None:
    path = "/open/option/order/orderbook/v1/BTCUSD-27FEB26-90000-C"
    coincall.always("GET", path, coincall.ok(doc.orderbook))
    for _ in range(2):
        book = client.orderbook("BTCUSD-27FEB26-90000-C")
    assert book.best_bid == Decimal("1290")
    assert len(coincall.sent(path)) == 2


def test_the_index_price_comes_from_the_futures_market_first(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.always("GET", ep.FUTURES_SYMBOL.path,
                    coincall.ok({"symbol": "BTCUSD", "indexPrice": "86420.5"}))
    assert client.index_price(Underlying.BTC) == Decimal("86420.5")
    assert coincall.sent(ep.FUTURES_SYMBOL.path)[0].params == {"symbol": "BTCUSD"}


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize("futures", [Reply(status=404, body=b""), FakeCoincall.ok([]),
                                     FakeCoincall.ok({"symbol": "BTCUSD", "indexPrice": 0})])
def test_without_a_futures_index_the_option_detail_index_is_used(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace,
        futures: Reply) -> None:
    """6.1 source 3; C2: never a constant."""
    coincall.always("GET", ep.FUTURES_SYMBOL.path, futures)
    detail = "/open/option/detail/v1/BTCUSD-27FEB26-90000-C"
    coincall.always("GET", detail, coincall.ok(doc.detail))
    assert client.index_price(Underlying.BTC) == Decimal("86420.5")


@pytest.mark.usefixtures("listed")
def test_with_no_index_source_the_price_is_unavailable_never_invented(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    """C2: with no price the runner must not evaluate; it never substitutes a constant."""
    coincall.always("GET", ep.FUTURES_SYMBOL.path, coincall.ok([]))
    coincall.always("GET", "/open/option/detail/v1/BTCUSD-27FEB26-90000-C",
                    coincall.ok({"symbol": "x"}))
    with pytest.raises(ExchangeUnavailable, match="no index price"):
        client.index_price(Underlying.BTC)


def test_an_authentication_failure_on_the_index_is_not_hidden_by_the_fallback(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.always("GET", ep.FUTURES_SYMBOL.path, coincall.error(10560, "invalid key"))
    with pytest.raises(AuthenticationFailed):
        client.index_price(Underlying.BTC)


def test_positions_and_account_are_read_live(client: CoincallClient, coincall: FakeCoincall,
                                             doc: SimpleNamespace) -> None:
    coincall.always("GET", ep.POSITIONS.path, coincall.ok(doc.positions))
    coincall.always("GET", ep.ACCOUNT_SUMMARY.path, coincall.ok(doc.account))
    [position] = client.positions()
    assert position.qty == Decimal("-0.1")
    assert client.account().equity == Decimal("104233.51")


def test_a_failed_positions_read_raises_and_is_never_an_empty_portfolio(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    """C5: a failed read is an error, never `[]` (flat)."""
    coincall.always("GET", ep.POSITIONS.path, Reply(status=500))
    with pytest.raises(ExchangeUnavailable):
        client.positions()
    assert not client.is_reachable


def test_a_read_only_key_is_refused_for_trading(client: CoincallClient, coincall: FakeCoincall,
                                                doc: SimpleNamespace) -> None:
    coincall.script("GET", ep.API_KEY_INFO.path, coincall.ok(doc.api_key),
                    coincall.ok(dict(doc.api_key, readOnly=1)))
    client.require_trading_key()
    with pytest.raises(AuthenticationFailed, match="read-only"):
        client.require_trading_key()


def test_the_client_is_built_from_settings_and_its_repr_shows_no_secret(
        coincall: FakeCoincall, clock: ManualClock) -> None:
    settings = load_settings({"TRADING_ENVIRONMENT": "testnet", "COINCALL_BASE_URL": coincall.url,
                              "COINCALL_API_KEY_TEST": KEY, "COINCALL_API_SECRET_TEST": SECRET})
    coincall.always("GET", ep.POSITIONS.path, coincall.ok([]))
    with coincall_client(settings, clock) as client:
        assert client.positions() == []
        assert coincall.sent(ep.POSITIONS.path)[0].signature_valid is True
        shown = repr(client) + str(client) + repr(vars(client) if hasattr(client, "__dict__")
                                                   else "")
        assert KEY not in shown
        assert SECRET not in shown


def test_paper_settings_cannot_build_a_coincall_client(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="paper"):
        coincall_client(load_settings({}), clock)
