"""`runner pause|resume|flatten|close` in process: they check names against the store, write
one control request and say in one line what they requested and whether a service runs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runner.service.instance_lock import InstanceLock
from runner.store import control_store
from runner.store.store import default_store_path
from tests.cli_helpers import run_cli
from tests.control.helpers_control import open_trades, probe
from tests.scenarios.helpers_scenarios import Scenario


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """A stopped paper service's state directory (RUNNER_STATE_DIR/paper) holding two open
    trades of alpha; beta has none. Returns the directory and alpha's trade ids."""
    scenario = Scenario.start(tmp_path, [probe(tmp_path, "alpha", concurrent=2),
                                         replace(probe(tmp_path, "beta"), enabled=False)])
    trades = open_trades(scenario, 2, "alpha")
    scenario.close()
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "state").rename(root / "paper")
    monkeypatch.setenv("RUNNER_STATE_DIR", str(root))
    monkeypatch.delenv("TRADING_ENVIRONMENT", raising=False)
    monkeypatch.chdir(tmp_path)  # no developer .env
    return root / "paper", trades


def _requests(state_dir: Path) -> list[control_store.ControlRequest]:
    connection = control_store.open_for_request(default_store_path(state_dir))
    try:
        return control_store.pending_requests(connection)
    finally:
        connection.close()


def test_pause_of_a_stopped_service_is_requested_for_its_next_start(state, capsys):
    state_dir, _ = state
    result = run_cli(capsys, "pause", "alpha")
    assert result.code == 0, result.err
    assert result.out.count("\n") == 1
    assert "requested pause of alpha (request 1)" in result.out
    assert "not running: applied at its next start" in result.out
    (request,) = _requests(state_dir)
    assert (request.action, request.targets) == ("pause", ("alpha",))


def test_a_running_service_is_named_when_its_lock_is_held(state, capsys):
    state_dir, _ = state
    with InstanceLock.for_state_dir(state_dir):
        result = run_cli(capsys, "resume")
    assert result.code == 0, result.err
    assert "requested resume of every strategy" in result.out
    assert "the service is running (lock held): applied within one tick" in result.out


def test_an_unknown_strategy_is_exit_2_naming_the_known_ones(state, capsys):
    state_dir, _ = state
    result = run_cli(capsys, "pause", "gamma")
    assert result.code == 2
    assert "unknown strategy gamma" in result.err
    assert "alpha, beta" in result.err
    assert _requests(state_dir) == []


def test_flatten_without_yes_shows_what_would_be_closed_and_requests_nothing(state, capsys):
    state_dir, trades = state
    result = run_cli(capsys, "flatten", "--strategy", "alpha")
    assert result.code == 2
    assert all(trade_id in result.err for trade_id in trades)
    assert "add --yes" in result.err
    assert _requests(state_dir) == []


def test_flatten_of_a_stopped_service_stays_pending_and_points_to_trades_flatten(state, capsys):
    state_dir, _ = state
    result = run_cli(capsys, "flatten", "--strategy", "alpha", "--yes")
    assert result.code == 0, result.err
    assert "nothing is closed until then" in result.out
    assert "runner trades flatten TRADE_ID" in result.out
    (request,) = _requests(state_dir)
    assert (request.action, request.targets) == ("flatten", ("alpha",))


def test_close_of_an_unknown_trade_is_exit_2_naming_the_active_ones(state, capsys):
    _, trades = state
    result = run_cli(capsys, "close", "alpha-nope", "--yes")
    assert result.code == 2
    assert "no active trade alpha-nope" in result.err
    assert all(trade_id in result.err for trade_id in trades)


def test_close_needs_yes_and_then_requests_that_one_trade(state, capsys):
    state_dir, trades = state
    unconfirmed = run_cli(capsys, "close", trades[0])
    assert unconfirmed.code == 2
    assert f"would close {trades[0]}" in unconfirmed.err
    confirmed = run_cli(capsys, "close", trades[0], "--yes")
    assert confirmed.code == 0, confirmed.err
    (request,) = _requests(state_dir)
    assert (request.action, request.targets) == ("close", (trades[0],))


def test_no_store_yet_is_exit_2_with_the_path(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RUNNER_STATE_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("TRADING_ENVIRONMENT", raising=False)
    monkeypatch.chdir(tmp_path)
    result = run_cli(capsys, "pause")
    assert result.code == 2
    assert "no store at" in result.err
    assert not (tmp_path / "empty").exists()  # nothing was created


def test_status_shows_pauses_and_requests_pending_and_applied(state, capsys):
    state_dir, _ = state
    assert run_cli(capsys, "pause", "alpha").code == 0
    assert run_cli(capsys, "resume", "beta").code == 0
    connection = control_store.open_for_request(default_store_path(state_dir))
    try:  # what the service does when it applies the first request
        control_store.set_paused(connection, "alpha", datetime(2026, 3, 2, tzinfo=UTC), 1)
        control_store.mark_done(connection, 1, control_store.APPLIED,
                                datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC), "paused alpha")
    finally:
        connection.close()
    shown = run_cli(capsys, "status", "--format", "json")
    assert shown.code == 0, shown.err
    control = json.loads(shown.out)["control"]
    assert control["paused"] == [{"strategy": "alpha", "since": "2026-03-02T00:00:00+00:00"}]
    assert [(r["request_id"], r["status"]) for r in control["requests"]] == [
        (2, "pending"), (1, "applied")]
    text = run_cli(capsys, "status").out
    assert "PAUSED (no new entries): alpha since 2026-03-02T00:00:00+00:00" in text
    assert "#2 resume beta" in text
    assert "PENDING: applied at the next tick or start" in text
    assert "#1 pause alpha" in text
    assert "applied 2026-03-02T00:00:01+00:00: paused alpha" in text
