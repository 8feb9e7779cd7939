"""`runner trades close-externally`: a trade closed by hand is recorded, never forgotten (H6)."""

from __future__ import annotations

import json
from decimal import Decimal

from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from tests.ops_trades.helpers_ops_trades import (
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

CALL = "BTCUSD-29NOV30-90000-C"


def test_a_trade_the_exchange_no_longer_shows_is_marked_closed_externally_with_the_note(
        capsys, state_dir) -> None:
    """H6: the trade is CLOSED with reason closed_externally; the note is on the transition."""
    save_open_trade(state_dir, "t-1", [(CALL, Side.BUY, "0.01", "180")])
    result = run_cli(capsys, "trades", "close-externally", "t-1", "--note",
                     "closed in the web UI by Ann")
    assert result.code == 0, result.err
    assert "trade t-1 marked closed (reason closed_externally)" in result.out
    trade = load_trade(state_dir, "t-1")
    assert trade is not None
    assert trade.stage is TradeStage.CLOSED
    assert trade.exit_reason == "closed_externally"
    assert trade.transitions[-1].reason == "operator: closed in the web UI by Ann"
    assert trade.legs[0].open_qty == 0
    assert run_cli(capsys, "trades", "list").code == 0


def test_closing_externally_is_written_to_the_audit_log(capsys, state_dir) -> None:
    save_open_trade(state_dir, "t-1", [(CALL, Side.BUY, "0.01", "180")])
    run_cli(capsys, "trades", "close-externally", "t-1", "--note", "by hand")
    lines = audit(state_dir)
    assert lines[-2][:3] == ("close_externally", "t-1", "closed")
    action, subject, outcome, detail = lines[-1]
    assert (action, subject, outcome) == ("operator", "trades close-externally", "done")
    assert json.loads(detail)["trade_id"] == "t-1"
    assert json.loads(detail)["environment"] == "paper"


def test_refused_while_the_exchange_still_shows_the_position(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    symbol = quote.instrument.symbol
    hold(loopback.venue, quote, Side.BUY, "0.1")
    save_open_trade(loopback.state_dir, "t-1", [(symbol, Side.BUY, "0.1", str(quote.ask))])
    result = run_cli(capsys, "trades", "close-externally", "t-1")
    assert result.code == 1
    assert f"the exchange still shows trade t-1's position(s): {symbol} 0.1" in result.err
    trade = load_trade(loopback.state_dir, "t-1")
    assert trade is not None
    assert trade.stage is TradeStage.OPEN
    assert audit(loopback.state_dir)[-1][:3] == ("operator", "trades close-externally",
                                                 "refused")


def test_force_closes_it_and_says_the_position_is_now_untracked(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    symbol = quote.instrument.symbol
    hold(loopback.venue, quote, Side.BUY, "0.1")
    save_open_trade(loopback.state_dir, "t-1", [(symbol, Side.BUY, "0.1", str(quote.ask))])
    loopback.venue.calls.clear()
    result = run_cli(capsys, "trades", "close-externally", "t-1", "--force")
    assert result.code == 0, result.err
    assert "forced: the exchange still shows" in result.out
    trade = load_trade(loopback.state_dir, "t-1")
    assert trade is not None
    assert trade.stage is TradeStage.CLOSED
    assert positions(loopback.venue) == {symbol: Decimal("0.1")}
    assert loopback.venue.writes == []
    listed = run_cli(capsys, "trades", "list", "--format", "json").json()
    assert [p["symbol"] for p in listed["foreign_positions"]] == [symbol]


def test_another_trades_share_of_the_symbol_does_not_block_the_close(capsys, loopback) -> None:
    """The exchange shows 0.1, which trade t-2 accounts for: t-1's 0.1 is gone."""
    quote = liquid_quote(loopback.venue)
    symbol = quote.instrument.symbol
    hold(loopback.venue, quote, Side.BUY, "0.1")
    save_open_trade(loopback.state_dir, "t-1", [(symbol, Side.BUY, "0.1", str(quote.ask))])
    save_open_trade(loopback.state_dir, "t-2", [(symbol, Side.BUY, "0.1", str(quote.ask))])
    result = run_cli(capsys, "trades", "close-externally", "t-1")
    assert result.code == 0, result.err


def test_refused_while_the_service_runs_and_the_store_is_untouched(capsys, state_dir) -> None:
    save_open_trade(state_dir, "t-1", [(CALL, Side.BUY, "0.01", "180")])
    fresh_heartbeat(state_dir)
    before = store_bytes(state_dir)
    result = run_cli(capsys, "trades", "close-externally", "t-1")
    assert result.code == 1
    assert "the service is running" in result.err
    assert store_bytes(state_dir) == before


def test_production_without_yes_is_refused_before_anything_is_read(capsys, production) -> None:
    save_open_trade(production.state_dir, "t-1", [(CALL, Side.BUY, "0.01", "180")])
    production.venue.calls.clear()
    before = store_bytes(production.state_dir)
    result = run_cli(capsys, "trades", "close-externally", "t-1")
    assert result.code == 1
    assert "PRODUCTION" in result.err
    assert "--yes" in result.err
    assert production.venue.calls == []
    assert store_bytes(production.state_dir) == before


def test_production_with_yes_closes_it(capsys, production) -> None:
    save_open_trade(production.state_dir, "t-1", [(CALL, Side.BUY, "0.01", "180")])
    result = run_cli(capsys, "trades", "close-externally", "t-1", "--yes")
    assert result.code == 0, result.err
    assert "PRODUCTION" in result.err
    assert audit(production.state_dir)[-1][3].count('"environment": "production"') == 1


def test_an_unknown_or_finished_trade_is_refused(capsys, state_dir) -> None:
    save_open_trade(state_dir, "t-1", [(CALL, Side.BUY, "0.01", "180")])
    unknown = run_cli(capsys, "trades", "close-externally", "nope")
    assert unknown.code == 1
    assert "no trade nope in the store" in unknown.err
    assert run_cli(capsys, "trades", "close-externally", "t-1").code == 0
    again = run_cli(capsys, "trades", "close-externally", "t-1")
    assert again.code == 1
    assert "already closed" in again.err


def test_without_a_store_there_is_nothing_to_close(capsys, state_dir) -> None:
    result = run_cli(capsys, "trades", "close-externally", "t-1")
    assert result.code == 1
    assert "no store at" in result.err
    # nothing but the (harmless) lock the refused decision held while it looked
    assert [p.name for p in state_dir.iterdir()] in ([], ["runner.lock"])
