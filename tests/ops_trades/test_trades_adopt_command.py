"""`runner trades adopt`: positions the runner did not open become tracked trades (A9, H6)."""

from __future__ import annotations

from decimal import Decimal

from runner.domain.instruments import OptionKind
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from tests.ops_trades.helpers_ops_trades import (
    active_trades,
    audit,
    fresh_heartbeat,
    hold,
    liquid_quote,
    positions,
    run_cli,
    save_open_trade,
    store_bytes,
)

FAST = ("--requote-after", "0.05", "--rounds", "2")


def test_adopt_then_flatten_closes_a_foreign_position(capsys, loopback) -> None:
    """H6: adopt is explicit; the adopted trade is flattened reduce-only to zero."""
    quote = liquid_quote(loopback.venue)
    symbol = quote.instrument.symbol
    hold(loopback.venue, quote, Side.BUY, "0.2")
    adopted = run_cli(capsys, "trades", "adopt")
    assert adopted.code == 0, adopted.err
    [trade] = active_trades(loopback.state_dir)
    assert trade.strategy == "adopted"
    assert trade.stage is TradeStage.OPEN
    assert (trade.legs[0].symbol, trade.legs[0].side, trade.legs[0].open_qty) == \
        (symbol, Side.BUY, Decimal("0.2"))
    assert f"as trade {trade.trade_id}" in adopted.out
    assert run_cli(capsys, "trades", "list").code == 0

    flat = run_cli(capsys, "trades", "flatten", trade.trade_id, *FAST)
    assert flat.code == 0, flat.out + flat.err
    assert positions(loopback.venue) == {}
    assert active_trades(loopback.state_dir) == []


def test_a_foreign_short_is_adopted_as_a_sell_leg_and_bought_back(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue, OptionKind.PUT)
    hold(loopback.venue, quote, Side.SELL, "0.1")
    assert run_cli(capsys, "trades", "adopt").code == 0
    [trade] = active_trades(loopback.state_dir)
    assert trade.legs[0].side is Side.SELL
    assert run_cli(capsys, "trades", "flatten", trade.trade_id, *FAST).code == 0
    assert positions(loopback.venue) == {}


def test_adopt_takes_only_the_named_symbols_into_the_named_strategy(capsys, loopback) -> None:
    call = liquid_quote(loopback.venue, OptionKind.CALL)
    put = liquid_quote(loopback.venue, OptionKind.PUT)
    hold(loopback.venue, call, Side.BUY, "0.1")
    hold(loopback.venue, put, Side.BUY, "0.1")
    result = run_cli(capsys, "trades", "adopt", call.instrument.symbol, "--strategy",
                     "micro_strangle")
    assert result.code == 0, result.err
    [trade] = active_trades(loopback.state_dir)
    assert trade.strategy == "micro_strangle"
    assert trade.legs[0].symbol == call.instrument.symbol
    listed = run_cli(capsys, "trades", "list", "--format", "json").json()
    assert [p["symbol"] for p in listed["foreign_positions"]] == [put.instrument.symbol]


def test_only_the_untracked_part_of_a_position_is_adopted(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    symbol = quote.instrument.symbol
    hold(loopback.venue, quote, Side.BUY, "0.3")
    save_open_trade(loopback.state_dir, "t-1", [(symbol, Side.BUY, "0.1", str(quote.ask))])
    assert run_cli(capsys, "trades", "adopt").code == 0
    adopted = [t for t in active_trades(loopback.state_dir) if t.trade_id != "t-1"]
    assert [t.legs[0].open_qty for t in adopted] == [Decimal("0.2")]
    assert run_cli(capsys, "trades", "adopt").out.startswith("nothing to adopt")


def test_naming_a_symbol_with_no_untracked_position_fails_with_the_reason(capsys,
                                                                          loopback) -> None:
    result = run_cli(capsys, "trades", "adopt", "BTCUSD-29NOV30-90000-C")
    assert result.code == 1
    assert "not adopted (no untracked, unexpired position on the exchange):" in result.out


def test_every_adoption_is_audited(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    hold(loopback.venue, quote, Side.BUY, "0.1")
    run_cli(capsys, "trades", "adopt")
    lines = audit(loopback.state_dir)
    [trade] = active_trades(loopback.state_dir)
    assert ("adopt", trade.trade_id, "adopted") in [line[:3] for line in lines]
    assert lines[-1][:3] == ("operator", "trades adopt", "done")


def test_adopt_is_refused_while_the_service_runs(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    hold(loopback.venue, quote, Side.BUY, "0.1")
    fresh_heartbeat(loopback.state_dir)
    result = run_cli(capsys, "trades", "adopt")
    assert result.code == 1
    assert "the service is running" in result.err
    assert not (loopback.state_dir / "runner.sqlite3").exists()


def test_production_adopt_needs_yes(capsys, production) -> None:
    quote = liquid_quote(production.venue)
    hold(production.venue, quote, Side.BUY, "0.1")
    save_open_trade(production.state_dir, "t-0",
                    [(quote.instrument.symbol, Side.BUY, "0.1", str(quote.ask))])
    hold(production.venue, quote, Side.BUY, "0.1")
    before = store_bytes(production.state_dir)
    refused = run_cli(capsys, "trades", "adopt")
    assert refused.code == 1
    assert "--yes" in refused.err
    assert store_bytes(production.state_dir) == before
    assert run_cli(capsys, "trades", "adopt", "--yes").code == 0
    assert len(active_trades(production.state_dir)) == 2
