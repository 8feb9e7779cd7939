"""Paper: the commands act on the simulated account the paper service saved in the state
directory, and save it again after a write (the service and the commands share it)."""

from __future__ import annotations

from runner.domain.instruments import OptionKind
from runner.domain.orders import Side
from runner.sim.persistence import paper_venue_path
from tests.ops_trades.helpers_ops_trades import (
    active_trades,
    paper_positions,
    run_cli,
    saved_paper_account,
)

FAST = ("--requote-after", "0.05", "--rounds", "2")


def test_list_reads_the_saved_paper_account_without_saving_it(capsys, state_dir) -> None:
    saved_paper_account(state_dir, (OptionKind.CALL, Side.BUY, "0.1"))
    before = paper_venue_path(state_dir).read_bytes()
    result = run_cli(capsys, "trades", "list", "--format", "json")
    assert result.code == 1
    assert len(result.json()["foreign_positions"]) == 1
    assert "(read-only)" in result.err
    assert paper_venue_path(state_dir).read_bytes() == before


def test_adopt_and_flatten_a_position_of_the_saved_paper_account(capsys, state_dir) -> None:
    saved_paper_account(state_dir, (OptionKind.PUT, Side.SELL, "0.1"))
    assert run_cli(capsys, "trades", "adopt").code == 0
    [trade] = active_trades(state_dir)
    flat = run_cli(capsys, "trades", "flatten", trade.trade_id, *FAST)
    assert flat.code == 0, flat.out + flat.err
    assert paper_positions(state_dir) == {}
    assert run_cli(capsys, "trades", "list").code == 0


def test_without_a_saved_account_nothing_is_created(capsys, state_dir) -> None:
    result = run_cli(capsys, "trades", "adopt")
    assert result.code == 0
    assert "no saved paper account" in result.err
    assert not paper_venue_path(state_dir).exists()


def test_a_damaged_paper_account_is_refused_by_list_and_left_for_the_service(
        capsys, state_dir) -> None:
    paper_venue_path(state_dir).write_bytes(b"\x00" * 64)
    result = run_cli(capsys, "trades", "list")
    assert result.code == 1
    assert "cannot be read" in result.err
    assert paper_venue_path(state_dir).read_bytes() == b"\x00" * 64


def test_a_damaged_paper_account_refuses_writes_too(capsys, state_dir) -> None:
    """A6: quarantining is the service's job at its start, with its alert; not a command's."""
    paper_venue_path(state_dir).write_bytes(b"{not json")
    result = run_cli(capsys, "trades", "adopt")
    assert result.code == 1
    assert "cannot be read" in result.err
    assert sorted(p.name for p in state_dir.iterdir() if p.name != "runner.lock") == [
        "paper-venue.json"]
