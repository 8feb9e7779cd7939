"""`runner paper reset` (issue 9 item 6): start over with a new paper account, the old one
kept aside, never while the paper service runs, never without `--yes`."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.domain.instruments import OptionKind
from runner.domain.orders import Side
from runner.service.instance_lock import InstanceLock
from runner.store.store import default_store_path
from tests.ops_cli.helpers_ops_cli import run_cli
from tests.ops_trades.helpers_ops_trades import (
    paper_positions,
    save_open_trade,
    saved_paper_account,
)


def _paper_state_with_a_position_and_a_trade(state_dir: Path) -> dict[str, bytes]:
    venue = saved_paper_account(state_dir, (OptionKind.CALL, Side.BUY, "0.1"))
    (symbol,) = {p.symbol for p in venue.positions()}
    save_open_trade(state_dir, "micro_strangle-1", [(symbol, Side.BUY, "0.1", "100")])
    return {p.name: p.read_bytes() for p in state_dir.iterdir() if p.is_file()}


def test_without_yes_it_says_what_it_would_move_and_changes_nothing(
        capsys: pytest.CaptureFixture[str], state_dir: Path) -> None:
    before = _paper_state_with_a_position_and_a_trade(state_dir)
    result = run_cli(capsys, "paper", "reset")
    assert result.code == 2
    assert "paper-venue.json: the paper account: equity" in result.out
    assert "1 position" in result.out
    assert "runner.sqlite3: the paper trades: 1 trade, 1 not closed" in result.out
    assert "runner paper reset --yes" in result.out
    after = {p.name: p.read_bytes() for p in state_dir.iterdir() if p.is_file()}
    assert after["paper-venue.json"] == before["paper-venue.json"]
    assert not list(state_dir.glob("reset-*"))


def test_with_yes_the_account_and_its_trades_are_moved_aside_whole(
        capsys: pytest.CaptureFixture[str], state_dir: Path) -> None:
    before = _paper_state_with_a_position_and_a_trade(state_dir)
    result = run_cli(capsys, "paper", "reset", "--yes")
    assert result.code == 0, result.err
    (archive,) = state_dir.glob("reset-*")
    assert f"moved aside into {archive}" in result.out
    assert (archive / "paper-venue.json").read_bytes() == before["paper-venue.json"]
    assert (archive / "runner.sqlite3").is_file()
    assert not default_store_path(state_dir).exists()
    assert paper_positions(state_dir) == {}  # the next start meets a new, empty account
    assert "100,000 USD" in result.out


def test_it_refuses_while_the_paper_service_holds_the_state_directory(
        capsys: pytest.CaptureFixture[str], state_dir: Path) -> None:
    before = _paper_state_with_a_position_and_a_trade(state_dir)
    with InstanceLock.for_state_dir(state_dir):  # what `runner run` holds while it runs
        result = run_cli(capsys, "paper", "reset", "--yes")
    assert result.code == 1
    assert "the paper service is running" in result.err
    assert (state_dir / "paper-venue.json").read_bytes() == before["paper-venue.json"]
    assert not list(state_dir.glob("reset-*"))


def test_a_second_reset_the_same_second_gets_its_own_folder(
        capsys: pytest.CaptureFixture[str], state_dir: Path) -> None:
    _paper_state_with_a_position_and_a_trade(state_dir)
    assert run_cli(capsys, "paper", "reset", "--yes").code == 0
    saved_paper_account(state_dir)
    assert run_cli(capsys, "paper", "reset", "--yes").code == 0
    assert len(list(state_dir.glob("reset-*"))) == 2


def test_nothing_to_reset_is_said_and_is_not_an_error(
        capsys: pytest.CaptureFixture[str], state_dir: Path) -> None:
    result = run_cli(capsys, "paper", "reset", "--yes")
    assert result.code == 0
    assert "nothing to reset" in result.out


def test_the_state_dir_option_names_the_root_like_the_service(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    saved_paper_account(elsewhere / "paper")
    result = run_cli(capsys, "paper", "reset", "--yes", "--state-dir", str(elsewhere))
    assert result.code == 0, result.err
    assert len(list((elsewhere / "paper").glob("reset-*"))) == 1
