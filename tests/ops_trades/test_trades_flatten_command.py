"""`runner trades flatten`: reduce-only closes, priced from the book, followed and bounded
(lessons B1, B6, H6, A4: flattening is a separate, explicit command)."""

from __future__ import annotations

import json
from decimal import Decimal

from runner.domain.instruments import OptionKind
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.store.store import Store, default_store_path
from tests.ops_trades.helpers_ops_trades import (
    KEY,
    SECRET,
    audit,
    fresh_heartbeat,
    hold,
    liquid_quote,
    load_trade,
    positions,
    run_cli,
    save_open_trade,
    store_bytes,
)

FAST = ("--requote-after", "0.05", "--rounds", "2")


def _flatten_orders(state_dir, trade_id):
    from runner.domain.clock import SystemClock

    with Store.open(default_store_path(state_dir), SystemClock()) as store:
        return store.orders_for_trade(trade_id)


def test_flatten_closes_a_held_long_with_reduce_only_orders_and_records_the_exit(
        capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    symbol = quote.instrument.symbol
    hold(loopback.venue, quote, Side.BUY, "0.1")
    save_open_trade(loopback.state_dir, "t-1", [(symbol, Side.BUY, "0.1", str(quote.ask))])
    result = run_cli(capsys, "trades", "flatten", "t-1", *FAST)
    assert result.code == 0, result.out + result.err
    assert f"sell 0.1 {symbol} @" in result.out
    assert "reduce-only" in result.out
    assert "trade t-1 is flat: closed" in result.out
    assert positions(loopback.venue) == {}
    trade = load_trade(loopback.state_dir, "t-1")
    assert trade is not None
    assert trade.stage is TradeStage.CLOSED
    assert trade.exit_reason == "manual_flatten"
    assert trade.legs[0].exit_price is not None
    [order] = _flatten_orders(loopback.state_dir, "t-1")
    assert order.request.reduce_only
    assert order.request.qty == Decimal("0.1")


def test_every_flatten_step_is_in_the_audit_log(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    hold(loopback.venue, quote, Side.BUY, "0.1")
    save_open_trade(loopback.state_dir, "t-1",
                    [(quote.instrument.symbol, Side.BUY, "0.1", str(quote.ask))])
    run_cli(capsys, "trades", "flatten", "t-1", *FAST)
    steps = [(action, outcome) for action, _, outcome, _ in audit(loopback.state_dir)]
    assert ("flatten", "started") in steps
    assert ("place_order", "sending") in steps
    assert ("place_order", "accepted") in steps
    assert steps[-2:] == [("flatten", "flat"), ("operator", "done")]
    detail = json.loads(audit(loopback.state_dir)[-1][3])
    assert detail == {"environment": "testnet", "trade_id": "t-1", "rounds": 2}


def test_flatten_never_sells_more_than_the_exchange_holds(capsys, loopback) -> None:
    """B1: the store believes 0.2, the exchange holds 0.1: one 0.1 sell, never a short."""
    quote = liquid_quote(loopback.venue)
    symbol = quote.instrument.symbol
    hold(loopback.venue, quote, Side.BUY, "0.1")
    save_open_trade(loopback.state_dir, "t-1", [(symbol, Side.BUY, "0.2", str(quote.ask))])
    result = run_cli(capsys, "trades", "flatten", "t-1", *FAST)
    assert result.code == 1
    assert positions(loopback.venue) == {}
    orders = _flatten_orders(loopback.state_dir, "t-1")
    assert sum(o.filled_qty for o in orders) == Decimal("0.1")
    assert all(o.request.reduce_only and o.request.qty <= Decimal("0.1") for o in orders)
    assert "the exchange shows no buy position to reduce" in result.out
    assert "close-externally" in result.out
    trade = load_trade(loopback.state_dir, "t-1")
    assert trade is not None
    assert trade.stage is TradeStage.PENDING_CLOSE
    assert trade.legs[0].open_qty == Decimal("0.1")


def test_flatten_buys_back_a_short_leg(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue, OptionKind.PUT)
    symbol = quote.instrument.symbol
    hold(loopback.venue, quote, Side.SELL, "0.1")
    save_open_trade(loopback.state_dir, "t-1", [(symbol, Side.SELL, "0.1", str(quote.bid))])
    result = run_cli(capsys, "trades", "flatten", "t-1", *FAST)
    assert result.code == 0, result.out + result.err
    assert f"buy 0.1 {symbol}" in result.out
    assert positions(loopback.venue) == {}


def test_a_leg_without_bids_is_retried_while_the_other_closes_and_no_short_appears(
        capsys, loopback) -> None:
    """B1/B6: the put has no bids: the call closes, the put stays held, bounded rounds."""
    call = liquid_quote(loopback.venue, OptionKind.CALL)
    put = liquid_quote(loopback.venue, OptionKind.PUT)
    hold(loopback.venue, call, Side.BUY, "0.1")
    hold(loopback.venue, put, Side.BUY, "0.1")
    save_open_trade(loopback.state_dir, "t-1",
                    [(call.instrument.symbol, Side.BUY, "0.1", str(call.ask)),
                     (put.instrument.symbol, Side.BUY, "0.1", str(put.ask))])
    loopback.venue.inner.empty_book_side(put.instrument.symbol, Side.BUY)
    result = run_cli(capsys, "trades", "flatten", "t-1", *FAST)
    assert result.code == 1
    assert positions(loopback.venue) == {put.instrument.symbol: Decimal("0.1")}
    assert result.out.count("no sell price in the book; retried") == 2
    assert "NOT flat after at most 2 round(s)" in result.out
    trade = load_trade(loopback.state_dir, "t-1")
    assert trade is not None
    assert trade.stage is TradeStage.PENDING_CLOSE

    listed = run_cli(capsys, "trades", "list", "--format", "json").json()
    assert listed["not_worked"] == ["t-1"]
    loopback.venue.inner.restore_book_side(put.instrument.symbol, Side.BUY)
    again = run_cli(capsys, "trades", "flatten", "t-1", *FAST)
    assert again.code == 0, again.out + again.err
    assert positions(loopback.venue) == {}
    assert load_trade(loopback.state_dir, "t-1").stage is TradeStage.CLOSED


def test_a_trade_the_exchange_does_not_show_at_all_is_refused_and_left_as_it_was(
        capsys, loopback) -> None:
    save_open_trade(loopback.state_dir, "t-1",
                    [("BTCUSD-29NOV30-90000-C", Side.BUY, "0.1", "100")])
    loopback.venue.calls.clear()
    result = run_cli(capsys, "trades", "flatten", "t-1", *FAST)
    assert result.code == 1
    assert "runner trades close-externally t-1" in result.err
    assert loopback.venue.writes == []
    trade = load_trade(loopback.state_dir, "t-1")
    assert trade is not None
    assert trade.stage is TradeStage.OPEN


def test_production_flatten_without_yes_is_refused_and_nothing_is_sent(capsys,
                                                                      production) -> None:
    quote = liquid_quote(production.venue)
    hold(production.venue, quote, Side.BUY, "0.1")
    save_open_trade(production.state_dir, "t-1",
                    [(quote.instrument.symbol, Side.BUY, "0.1", str(quote.ask))])
    production.venue.calls.clear()
    before = store_bytes(production.state_dir)
    result = run_cli(capsys, "trades", "flatten", "t-1", *FAST)
    assert result.code == 1
    assert "PRODUCTION" in result.err
    assert "Add --yes to confirm" in result.err
    assert production.venue.calls == []
    assert store_bytes(production.state_dir) == before
    confirmed = run_cli(capsys, "trades", "flatten", "t-1", "--yes", *FAST)
    assert confirmed.code == 0, confirmed.out + confirmed.err
    assert positions(production.venue) == {}
    everything = result.out + result.err + confirmed.out + confirmed.err + str(
        audit(production.state_dir))
    assert KEY not in everything
    assert SECRET not in everything


def test_flatten_is_refused_while_the_service_runs(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    hold(loopback.venue, quote, Side.BUY, "0.1")
    save_open_trade(loopback.state_dir, "t-1",
                    [(quote.instrument.symbol, Side.BUY, "0.1", str(quote.ask))])
    fresh_heartbeat(loopback.state_dir)
    loopback.venue.calls.clear()
    result = run_cli(capsys, "trades", "flatten", "t-1", *FAST)
    assert result.code == 1
    assert "stop it first" in result.err
    assert loopback.venue.calls == []
    assert positions(loopback.venue) == {quote.instrument.symbol: Decimal("0.1")}


def test_bad_rounds_are_a_usage_error(capsys, state_dir) -> None:
    result = run_cli(capsys, "trades", "flatten", "t-1", "--rounds", "0")
    assert result.code == 2
