"""Market-data answers shaped like coincall-api.md 6.1 parse into domain types (F1)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from runner.domain.instruments import OptionKind, Underlying
from runner.exchange.coincall.wire import market
from runner.exchange.errors import MalformedResponse

NOW = datetime(2026, 2, 20, 12, 0, tzinfo=UTC)
EXPIRY = datetime(2026, 2, 27, 8, 0, tzinfo=UTC)


def test_the_documented_instrument_row_becomes_an_instrument(doc: SimpleNamespace) -> None:
    [instrument] = market.instruments(doc.instruments, Underlying.BTC)
    assert instrument.symbol == "BTCUSD-27FEB26-90000-C"
    assert instrument.kind is OptionKind.CALL
    assert instrument.strike == 90000
    assert instrument.expiry == EXPIRY
    assert instrument.tick_size == 1
    assert instrument.min_qty == Decimal("0.01")
    assert instrument.is_active


def test_an_inactive_instrument_is_marked_inactive(doc: SimpleNamespace) -> None:
    doc.instruments[0]["isActive"] = False
    assert not market.instruments(doc.instruments, Underlying.BTC)[0].is_active


def test_the_documented_chain_row_becomes_a_put_quote(doc: SimpleNamespace) -> None:
    [put] = market.option_chain(doc.chain, now=NOW)
    assert put.symbol == "BTCUSD-27FEB26-80000-P"
    assert put.instrument.kind is OptionKind.PUT
    assert put.instrument.strike == 80000
    assert put.instrument.expiry == EXPIRY
    assert (put.bid, put.ask) == (Decimal("905.0"), Decimal("940.0"))
    assert (put.bid_size, put.ask_size) == (Decimal("3.2"), Decimal("1.5"))
    assert put.mark == Decimal("921.4")
    assert put.mark_iv == pytest.approx(0.48)
    assert put.underlying_price == Decimal("86502.1")
    assert put.greeks is not None
    assert put.greeks.delta == pytest.approx(-0.2712)
    assert put.greeks.gamma == 0.0
    assert put.greeks.vega == pytest.approx(61.2)
    assert put.at == NOW


def test_empty_book_sides_and_the_never_traded_last_price_become_none(
        doc: SimpleNamespace) -> None:
    """Coincall sends 0 for an empty side and 1.797e308 for no last trade (6.1)."""
    put = doc.chain[0]["putOption"]
    put.update(bid=0, bidSize=0, ask="0", lastPrice=1.7976931348623157e308)
    [quote] = market.option_chain(doc.chain, now=NOW)
    assert quote.bid is None
    assert quote.ask is None
    assert quote.mid is None
    assert quote.last is None
    put["lastPrice"] = "930.5"
    assert market.option_chain(doc.chain, now=NOW)[0].last == Decimal("930.5")


def test_a_chain_row_carries_both_options_and_the_instrument_list_supplies_the_tick(
        doc: SimpleNamespace) -> None:
    row = {"strike": 90000.0, "putOption": None,
           "callOption": {"symbol": "BTCUSD-27FEB26-90000-C", "type": 1, "strike": 90000.0,
                          "endTime": 1772179200000, "bid": "1290", "ask": "1335",
                          "markPrice": "1310.6", "delta": "0.3125", "gamma": "0.000035"}}
    known = {i.symbol: i for i in market.instruments(doc.instruments, Underlying.BTC)}
    [call] = market.option_chain([row], now=NOW, known=known)
    assert call.instrument is known["BTCUSD-27FEB26-90000-C"]
    assert call.bid == 1290
    assert call.greeks is not None
    assert call.greeks.gamma == 0.000035


def test_a_chain_option_without_delta_has_no_greeks(doc: SimpleNamespace) -> None:
    del doc.chain[0]["putOption"]["delta"]
    assert market.option_chain(doc.chain, now=NOW)[0].greeks is None


def test_the_option_detail_index_price_is_read_from_indexPrice(doc: SimpleNamespace) -> None:
    assert market.detail_index_price(doc.detail) == Decimal("86420.5")
    assert market.detail_index_price({"symbol": "x"}) is None


def test_the_documented_orderbook_parses_string_levels_best_first(doc: SimpleNamespace) -> None:
    book = market.orderbook(doc.orderbook, "BTCUSD-27FEB26-90000-C", NOW)
    assert book.best_bid == Decimal("1290")
    assert book.best_ask == Decimal("1335")
    assert book.bids[0].size == Decimal("2.5")
    assert book.asks[0].size == Decimal("0.8")


def test_an_orderbook_for_another_symbol_is_malformed(doc: SimpleNamespace) -> None:
    with pytest.raises(MalformedResponse, match="optionName"):
        market.orderbook(doc.orderbook, "BTCUSD-27FEB26-80000-P", NOW)


@pytest.mark.parametrize("data", [
    {"symbol": "BTCUSD", "indexPrice": "86420.5", "markPrice": "86430"},
    [{"symbol": "ETHUSD", "indexPrice": "3000"}, {"symbol": "BTCUSD", "indexPrice": 86420.5}],
    {"symbol": "BTCUSD", "indexPrice": 0, "markPrice": "86420.5"},
])
def test_the_futures_index_is_read_from_one_object_or_a_list(data: object) -> None:
    assert market.futures_index_price(data, "BTCUSD") == Decimal("86420.5")


def test_a_futures_answer_without_our_index_gives_none() -> None:
    assert market.futures_index_price([{"symbol": "ETHUSD", "indexPrice": "3000"}],
                                      "BTCUSD") is None


def test_server_time_is_an_aware_utc_datetime() -> None:
    assert market.server_time({"serverTime": 1767225600000}) == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("data", "field"), [
    ([{"strike": 1, "putOption": {"bid": 1}}], "data[0].putOption.symbol"),
    ([{"strike": 1, "putOption": {"symbol": "BTCUSD-27FEB26-80000-P", "bid": "abc"}}],
     "data[0].putOption.bid"),
    ({"not": "a list"}, "data"),
])
def test_a_malformed_chain_names_the_endpoint_and_field_never_a_key_error(
        data: object, field: str) -> None:
    with pytest.raises(MalformedResponse) as raised:
        market.option_chain(data, now=NOW)
    assert field in str(raised.value)
    assert raised.value.endpoint == "option chain"


def test_an_instrument_without_expiry_is_malformed_and_named() -> None:
    with pytest.raises(MalformedResponse, match=r"instruments: field data\[0\]\.expiration"):
        market.instruments([{"symbolName": "BTCUSD-27FEB26-90000-C", "strike": 9e4}],
                           Underlying.BTC)
