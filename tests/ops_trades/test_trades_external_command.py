"""`runner trades external`: the operator declares a position someone else's (issue 7).

The service then counts it as explained (`store.positions` no longer blocks entries
because of it) and never touches it; nothing is sent to the exchange.
"""

from __future__ import annotations

from decimal import Decimal

from runner.domain.clock import SystemClock
from runner.domain.instruments import OptionKind
from runner.domain.orders import Side
from runner.store import Store, default_store_path
from tests.ops_trades.helpers_ops_trades import paper_positions, run_cli, saved_paper_account


def declared(state_dir) -> dict[str, Decimal]:
    with Store.open(default_store_path(state_dir), SystemClock()) as store:
        return store.external_positions()


def test_a_position_declared_external_is_recorded_with_its_signed_quantity(
        capsys, state_dir) -> None:
    saved_paper_account(state_dir, (OptionKind.PUT, Side.SELL, "0.1"))
    [(symbol, qty)] = paper_positions(state_dir).items()

    result = run_cli(capsys, "trades", "external", symbol)

    assert result.code == 0, result.err
    assert f"{symbol}: -0.1 declared external" in result.out
    assert declared(state_dir) == {symbol: qty}
    assert paper_positions(state_dir) == {symbol: qty}  # nothing was sent


def test_clear_forgets_the_declaration(capsys, state_dir) -> None:
    saved_paper_account(state_dir, (OptionKind.CALL, Side.BUY, "0.1"))
    [symbol] = paper_positions(state_dir)
    assert run_cli(capsys, "trades", "external", symbol).code == 0

    result = run_cli(capsys, "trades", "external", symbol, "--clear")

    assert result.code == 0
    assert "no longer declared external" in result.out
    assert declared(state_dir) == {}


def test_trades_list_no_longer_asks_about_a_position_declared_external(
        capsys, state_dir) -> None:
    saved_paper_account(state_dir, (OptionKind.CALL, Side.BUY, "0.1"))
    [symbol] = paper_positions(state_dir)
    assert run_cli(capsys, "trades", "list").code == 1  # someone's position: a decision
    assert run_cli(capsys, "trades", "external", symbol).code == 0

    assert run_cli(capsys, "trades", "list").code == 0
