"""The adapter's wire parsers read every documented answer example of the calls it makes.

Each fixture is the docs' own example (tests/exchange/contract/fixtures/README.md names
its source); each test parses it with `runner/exchange/coincall/wire/*` and checks the
domain values against the numbers printed in the docs. Findings 1 and 10 of issue 8:
before this, the delivery prices and the futures list were read only in the simulator's
shapes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from helpers_contract import documented, envelope

from runner.domain.clock import from_epoch_ms, to_epoch_ms
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import OrderStatus, Side
from runner.domain.rfq import QuoteState, RfqState
from runner.exchange.coincall.wire import account as wire_account
from runner.exchange.coincall.wire import exercise as wire_exercise
from runner.exchange.coincall.wire import market as wire_market
from runner.exchange.coincall.wire import orders as wire_orders
from runner.exchange.coincall.wire import rfq as wire_rfq

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_server_time_is_read_in_epoch_ms() -> None:
    assert wire_market.server_time(documented("server_time")) == from_epoch_ms(1687250525704)


def test_the_instrument_list_gives_strike_expiry_tick_and_lot() -> None:
    listed = wire_market.instruments(documented("instruments"), Underlying.BTC)
    assert [i.symbol for i in listed] == ["BTCUSD-14SEP23-22500-C", "BTCUSD-14SEP23-22500-P",
                                          "BTCUSD-14SEP23-23000-C", "BTCUSD-14SEP23-23000-P"]
    first = listed[0]
    assert (first.kind, first.strike, first.expiry) == (
        OptionKind.CALL, Decimal(22500), datetime(2023, 9, 14, 8, tzinfo=UTC))
    assert (first.tick_size, first.min_qty, first.is_active) == (
        Decimal("0.1"), Decimal("0.01"), True)


def test_the_chain_reads_an_untraded_call_as_having_no_prices() -> None:
    call, _put = wire_market.option_chain(documented("option_chain"), now=NOW)
    assert call.symbol == "BTCUSD-26OCT22-22000-C"
    assert (call.bid, call.ask, call.mark, call.last) == (None, None, None, None)
    assert call.underlying_price == Decimal("20278.25")
    assert call.instrument.expiry == from_epoch_ms(1666771200000)


def test_the_chain_reads_a_traded_put_with_its_book_mark_and_greeks() -> None:
    _call, put = wire_market.option_chain(documented("option_chain"), now=NOW)
    assert (put.symbol, put.instrument.kind, put.instrument.strike) == (
        "BTCUSD-15JUN23-26000-P", OptionKind.PUT, Decimal(26000))
    assert (put.bid, put.bid_size, put.ask) == (Decimal("658.6"), Decimal("10.35"), None)
    assert (put.mark, put.mark_iv, put.last) == (Decimal("1138.22770000"), 0.6292,
                                                 Decimal("989.9"))
    assert put.greeks is not None
    assert put.greeks.delta == -1.0


def test_the_option_detail_gives_the_index_price() -> None:
    assert wire_market.detail_index_price(documented("option_detail")) == Decimal(
        "20239.96000000")


def test_the_orderbook_levels_are_read_from_strings() -> None:
    book = wire_market.orderbook(documented("orderbook"), "BTCUSD-26OCT22-15000-C", NOW)
    assert [(level.price, level.size) for level in book.bids] == [(Decimal(5251),
                                                                   Decimal("0.5"))]
    assert [(level.price, level.size) for level in book.asks] == [(Decimal(8888), Decimal(1))]


def test_the_futures_list_of_numbers_gives_the_index_price_finding_10() -> None:
    data = documented("futures_symbol")
    assert isinstance(data, list)
    assert wire_market.futures_index_price(data, "BTCUSD") == Decimal("25754.025")
    assert wire_market.futures_index_price(data, "ETHUSD") is None


def test_the_delivery_prices_are_keyed_by_the_08_00_utc_of_their_date_finding_1() -> None:
    prices = wire_market.delivery_prices(documented("delivery_prices"))
    at_eight = [to_epoch_ms(datetime(2024, 12, day, 8, tzinfo=UTC)) for day in (23, 22, 21)]
    assert prices == {at_eight[0]: Decimal("7131.214606410254"),
                      at_eight[1]: Decimal("7150.943217777777"),
                      at_eight[2]: Decimal("7175.988445532345")}
    assert envelope("delivery_prices")["records_total"] == 58  # beside data, not read


def test_a_placed_order_is_acked_with_its_integer_id() -> None:
    assert wire_orders.order_id(documented("place_order")) == 1663820914095300608


def test_an_order_info_reads_a_null_average_price_as_zero() -> None:
    order = wire_orders.order(documented("single_order"))
    assert (order.order_id, order.client_order_id, order.symbol) == (
        1665910350698258432, 123123123, "BTCUSD-6JUN23-24000-C")
    assert (order.side, order.qty, order.filled_qty, order.price, order.avg_price) == (
        Side.BUY, Decimal("0.5"), Decimal(0), Decimal("2095.6"), Decimal(0))
    assert (order.status, order.reduce_only) == (OrderStatus.NEW, False)
    assert order.updated_at == from_epoch_ms(1685326195118)


def test_open_orders_have_no_state_and_are_new_until_filled() -> None:
    rows, pages = wire_orders.open_orders(documented("open_orders"))
    assert pages == 1
    assert [(o.order_id, o.status, o.remaining_qty) for o in rows] == [
        (1665910350698258432, OrderStatus.NEW, Decimal("0.5"))]


def test_a_fill_gives_ids_price_fee_time_and_maker_flag() -> None:
    fills, has_next = wire_orders.fills(documented("trade_history"))
    assert has_next is True
    (fill,) = fills
    assert (fill.trade_id, fill.order_id, fill.symbol) == (
        1584745239911469056, 1584744827800133632, "BTCUSD-2JUN23-18000-C")
    assert (fill.side, fill.qty, fill.price, fill.fee) == (
        Side.BUY, Decimal(2), Decimal(951), Decimal("0.001902"))
    assert (fill.at, fill.is_taker, fill.reduce_only) == (
        from_epoch_ms(1666667683034), False, False)


def test_an_exercise_row_is_a_settled_position_signed_by_its_trade_side_with_its_fee(
        ) -> None:
    """Finding 12: the fee is outside netCashFlow (open + settlement cash flows)."""
    (row,), has_next = wire_exercise.exercises(documented("exercise_history"))
    assert has_next is True
    assert (row.symbol, row.qty, row.fee) == ("ETHUSD-13SEP24-2200-C", Decimal(-2),
                                              Decimal("0.72317826"))
    assert (row.strike, row.settlement_price, row.net_cash_flow) == (
        Decimal(2200), Decimal("2409.38569142"), Decimal("-51.17138284"))
    assert row.at == from_epoch_ms(1726248852785)


def test_a_position_is_signed_by_its_trade_side() -> None:
    (position,) = wire_account.positions(documented("positions"))
    assert (position.symbol, position.qty, position.avg_price) == (
        "BTCUSD-25NOV22-8000-C", Decimal(1), Decimal("11294.2"))
    assert position.mark_price == Decimal("12260.310000000001")
    assert position.unrealized_pnl == Decimal("966.110000000001")
    assert position.greeks is not None
    assert position.greeks.delta == 1.0


def test_the_account_summary_reads_its_string_amounts_finding_10() -> None:
    account = wire_account.account(documented("account_summary"))
    assert (account.equity, account.available_margin) == (Decimal("99932.41659503000"),
                                                          Decimal("90088.98159503"))
    assert (account.initial_margin, account.maintenance_margin) == (
        Decimal("15647.08532640"), Decimal("10850.05133640"))
    assert account.unrealized_pnl == Decimal("-43.65032640")


def test_the_api_key_answer_says_whether_it_may_trade() -> None:
    info = wire_account.api_key_info(documented("api_key_info"))
    assert (info.user_id, info.read_only, info.is_master) == (123456, False, True)


def test_a_created_rfq_keeps_our_sides_and_string_quantities() -> None:
    created = wire_rfq.rfq(documented("rfq_create"))
    assert (created.request_id, created.state) == ("1983060031318396928", RfqState.ACTIVE)
    assert [(leg.symbol, leg.side, leg.qty) for leg in created.legs] == [
        ("BTCUSD-29OCT25-109000-C", Side.BUY, Decimal("0.2")),
        ("BTCUSD-29OCT25-109000-P", Side.SELL, Decimal("0.2"))]
    assert created.expires_at == from_epoch_ms(1761636929597)


def test_a_received_quote_keeps_the_makers_sides() -> None:
    (quote,) = wire_rfq.quotes(documented("rfq_quotes"), "1983130719395909632")
    assert (quote.quote_id, quote.request_id, quote.state) == (
        "1983131007357546497", "1983130719395909632", QuoteState.OPEN)
    assert [(leg.maker_side, leg.price, leg.qty) for leg in quote.legs] == [
        (Side.SELL, Decimal(1), Decimal("0.2")), (Side.BUY, Decimal(2), Decimal("0.2"))]


def test_an_accepted_quote_is_a_block_trade_timed_by_its_first_leg() -> None:
    trade = wire_rfq.block_trade(documented("rfq_accept"))
    assert (trade.block_trade_id, trade.request_id, trade.quote_id) == (
        "1983131007357546497", "1983130719395909632", "1983131007357546497")
    assert trade.at == from_epoch_ms(1761650471507)
    first = trade.legs[0]
    assert (first.side, first.price, first.qty, first.fee) == (
        Side.BUY, Decimal(1), Decimal("0.2"), Decimal("0.025"))
    assert (first.order_id, first.trade_id) == (1983131927527428096, 1983131929700110336)


def test_the_rfq_list_reads_quantity_legs() -> None:
    (listed,) = wire_rfq.rfq_list(documented("rfq_list"))
    assert (listed.request_id, listed.state) == ("1957272427713138688", RfqState.ACTIVE)
    assert [leg.qty for leg in listed.legs] == [Decimal("10.5"), Decimal("10.5")]


def test_a_private_block_trade_page_gives_trades_and_whether_older_ones_follow() -> None:
    trades, has_next = wire_rfq.block_trades(documented("block_trades"))
    assert has_next is True
    (trade,) = trades
    assert (trade.block_trade_id, trade.request_id) == ("2012860289361002497",
                                                        "2012860195142766592")
    assert trade.at == from_epoch_ms(1768738264776)
    assert [(leg.side, leg.price, leg.qty) for leg in trade.legs] == [
        (Side.BUY, Decimal(805), Decimal("0.1")), (Side.SELL, Decimal(1149), Decimal("0.2")),
        (Side.BUY, Decimal(1605), Decimal("0.1"))]


def test_cancel_answers_carry_no_payload_to_parse() -> None:
    assert documented("cancel_order") == "success"
    assert documented("rfq_cancel") is True
