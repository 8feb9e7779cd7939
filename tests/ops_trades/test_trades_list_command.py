"""`runner trades list`: what needs a decision, read-only (lessons H6, C5)."""

from __future__ import annotations

from decimal import Decimal

from runner.domain.orders import Side
from runner.store.store import default_store_path
from tests.ops_trades.helpers_ops_trades import (
    fresh_heartbeat,
    hold,
    liquid_quote,
    run_cli,
    save_open_trade,
    stale_heartbeat,
    store_bytes,
)

CALL = "BTCUSD-29NOV30-90000-C"  # far in the future: never expired, never listed on paper


def test_list_with_nothing_anywhere_exits_0_and_creates_no_store(capsys, state_dir) -> None:
    result = run_cli(capsys, "trades", "list")
    assert result.code == 0, result.err
    assert "active trades: 0" in result.out
    assert "decisions needed: none" in result.out
    assert not default_store_path(state_dir).exists()


def test_a_trade_the_exchange_does_not_show_needs_a_decision_with_the_three_choices(
        capsys, state_dir) -> None:
    """H6: paper venue (fresh, flat): the store's 0.01 is a discrepancy, exit 1."""
    save_open_trade(state_dir, "t-1", [(CALL, Side.BUY, "0.01", "180")])
    result = run_cli(capsys, "trades", "list")
    assert result.code == 1
    assert f"DECISION NEEDED: {CALL}: the store holds 0.01 for trade(s) t-1" in result.out
    assert "runner trades close-externally t-1" in result.out
    assert "runner trades flatten t-1" in result.out
    assert "t-1 [micro_strangle] open" in result.out


def test_list_never_writes_to_the_store_or_the_exchange(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    hold(loopback.venue, quote, Side.BUY, "0.1")
    save_open_trade(loopback.state_dir, "t-1", [(CALL, Side.BUY, "0.01", "180")])
    before = store_bytes(loopback.state_dir)
    loopback.venue.calls.clear()
    result = run_cli(capsys, "trades", "list")
    assert result.code == 1
    assert loopback.venue.writes == []
    assert store_bytes(loopback.state_dir) == before


def test_a_foreign_position_is_listed_with_adopt_as_the_way_to_track_it(capsys,
                                                                         loopback) -> None:
    quote = liquid_quote(loopback.venue)
    symbol = quote.instrument.symbol
    hold(loopback.venue, quote, Side.SELL, "0.1")
    result = run_cli(capsys, "trades", "list")
    assert result.code == 1
    assert f"FOREIGN POSITION: {symbol} -0.1" in result.out
    assert f"runner trades adopt {symbol}" in result.out


def test_a_tracked_position_the_exchange_shows_needs_no_decision(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    hold(loopback.venue, quote, Side.BUY, "0.1")
    save_open_trade(loopback.state_dir, "t-1",
                    [(quote.instrument.symbol, Side.BUY, "0.1", str(quote.ask))])
    result = run_cli(capsys, "trades", "list", "--format", "json")
    assert result.code == 0, result.out + result.err
    data = result.json()
    assert data["environment"] == "testnet"
    assert data["needs_decision"] is False
    assert [t["trade_id"] for t in data["active_trades"]] == ["t-1"]
    assert data["discrepancies"] == []
    assert data["foreign_positions"] == []


def test_list_json_names_every_kind_of_finding(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    hold(loopback.venue, quote, Side.BUY, "0.3")
    save_open_trade(loopback.state_dir, "t-1",
                    [(quote.instrument.symbol, Side.BUY, "0.1", str(quote.ask))])
    save_open_trade(loopback.state_dir, "t-2", [(CALL, Side.SELL, "0.02", "50")])
    data = run_cli(capsys, "trades", "list", "--format", "json").json()
    assert data["needs_decision"] is True
    assert data["surplus_positions"] == [{"symbol": quote.instrument.symbol, "qty": "0.2"}]
    assert data["discrepancies"] == [{"symbol": CALL, "expected": "-0.02", "found": "0",
                                      "trade_ids": ["t-2"]}]


def test_list_is_refused_while_the_service_runs(capsys, state_dir) -> None:
    fresh_heartbeat(state_dir)
    result = run_cli(capsys, "trades", "list")
    assert result.code == 1
    assert "the service is running" in result.err
    assert "stop it first" in result.err
    assert result.out == ""


def test_a_stale_heartbeat_is_a_stopped_service(capsys, state_dir) -> None:
    stale_heartbeat(state_dir)
    assert run_cli(capsys, "trades", "list").code == 0


def test_an_unusable_environment_is_a_usage_error(capsys, state_dir, monkeypatch) -> None:
    monkeypatch.setenv("TRADING_ENVIRONMENT", "testnet")  # no keys
    result = run_cli(capsys, "trades", "list")
    assert result.code == 2
    assert "COINCALL_API_KEY_TEST" in result.err


def test_trades_without_an_action_prints_usage(capsys, state_dir) -> None:
    result = run_cli(capsys, "trades")
    assert result.code == 2
    assert "close-externally" in result.err


def test_a_held_quantity_is_compared_with_decimal_precision(capsys, loopback) -> None:
    quote = liquid_quote(loopback.venue)
    hold(loopback.venue, quote, Side.BUY, "0.05")
    save_open_trade(loopback.state_dir, "t-1",
                    [(quote.instrument.symbol, Side.BUY, "0.1", str(quote.ask))])
    data = run_cli(capsys, "trades", "list", "--format", "json").json()
    [item] = data["discrepancies"]
    assert Decimal(item["found"]) == Decimal("0.05")


def test_a_failed_positions_read_is_a_failure_never_an_empty_account(capsys, loopback) -> None:
    """C5: the positions endpoint fails: exit 1 with the reason, no 'nothing needed'."""
    from runner.sim.faults import FaultPlan, FaultRule

    loopback.server.faults = FaultPlan.of(FaultRule("positions", "error", code=12345,
                                                    message="positions unavailable"))
    result = run_cli(capsys, "trades", "list")
    assert result.code == 1
    assert "the exchange failed" in result.err
    assert "decisions needed" not in result.out
