"""The adapter reads a number the same whether Coincall sends it as a JSON number or as a
numeric string (issue 8 finding 10: the docs send numbers where the simulator sent
strings, and strings elsewhere), and a price of 1.797e308 (Double.MAX_VALUE) as no price.

Each documented example is parsed as the docs give it, then with every number turned into
its text and every numeric text into a number (ids into integers, so none loses digits):
the domain values must not change.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers_contract import documented

from runner.domain.instruments import Underlying
from runner.exchange.coincall.wire import account as wire_account
from runner.exchange.coincall.wire import market as wire_market
from runner.exchange.coincall.wire import orders as wire_orders
from runner.exchange.coincall.wire import rfq as wire_rfq

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_INTEGER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+\.\d+([eE][-+]?\d+)?$")

PARSERS: dict[str, Callable[[Any], object]] = {
    "server_time": wire_market.server_time,
    "instruments": lambda data: wire_market.instruments(data, Underlying.BTC),
    "option_chain": lambda data: wire_market.option_chain(data, now=NOW),
    "option_detail": wire_market.detail_index_price,
    "orderbook": lambda data: wire_market.orderbook(data, "BTCUSD-26OCT22-15000-C", NOW),
    "futures_symbol": lambda data: wire_market.futures_index_price(data, "BTCUSD"),
    "delivery_prices": wire_market.delivery_prices,
    "place_order": wire_orders.order_id,
    "single_order": wire_orders.order,
    "open_orders": wire_orders.open_orders,
    "trade_history": wire_orders.fills,
    "positions": wire_account.positions,
    "account_summary": wire_account.account,
    "api_key_info": wire_account.api_key_info,
    "rfq_create": wire_rfq.rfq,
    "rfq_quotes": lambda data: wire_rfq.quotes(data, "1983130719395909632"),
    "rfq_accept": wire_rfq.block_trade,
    "rfq_list": wire_rfq.rfq_list,
    "block_trades": wire_rfq.block_trades,
}


def as_strings(value: Any) -> Any:
    """Every JSON number written as its text (booleans and the rest unchanged)."""
    if isinstance(value, dict):
        return {key: as_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_strings(item) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return value


def as_numbers(value: Any) -> Any:
    """Every numeric text written as a JSON number (integers stay exact)."""
    if isinstance(value, dict):
        return {key: as_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_numbers(item) for item in value]
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    if isinstance(value, str) and _DECIMAL.match(value):
        return float(value)
    return value


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_a_number_sent_as_text_reads_the_same(name: str) -> None:
    data = documented(name)
    assert PARSERS[name](as_strings(data)) == PARSERS[name](data)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_a_numeric_text_sent_as_a_number_reads_the_same(name: str) -> None:
    data = documented(name)
    assert PARSERS[name](as_numbers(data)) == PARSERS[name](data)


@pytest.mark.parametrize("sentinel", [sys.float_info.max, "1.7976931348623157E308", 0, "0"])
def test_a_last_price_of_zero_or_double_max_is_no_price(sentinel: object) -> None:
    data = documented("option_chain")
    data[0]["putOption"]["lastPrice"] = sentinel
    _call, put = wire_market.option_chain(data, now=NOW)
    assert put.last is None
    assert put.mark is not None
