"""`runner plan` answers "what would my service do now?" (issue 9 item 5): in paper mode it
plans against the saved paper account, not a new market with seed 0 and 100 % margin, and
counts cycle schedules from the running service's launch, not from its own start; and it
says which it used. `--at` / `--seed` keep asking "what if, on a new account?"."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.cli.plan_report import make_plan
from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind
from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.service.heartbeat import Heartbeat, write_heartbeat
from runner.service.instance_lock import InstanceLock
from runner.service.tracking import with_launch
from runner.sim.venue import SimVenue
from runner.strategy import load_strategies
from tests.ops_cli.helpers_ops_cli import STRATEGIES, CliResult, run_cli
from tests.ops_trades.helpers_ops_trades import saved_paper_account

MICRO = str(STRATEGIES / "micro_strangle.yaml")
RFQ = str(STRATEGIES / "rfq_endurance.yaml")


def _plan(capsys: pytest.CaptureFixture[str], tmp_path: Path, path: str = MICRO,
          *extra: str) -> CliResult:
    return run_cli(capsys, "plan", path, "--env-file", str(tmp_path / "absent.env"),
                   "--format", "json", *extra)


def _checks(result: CliResult) -> dict[str, dict[str, object]]:
    return {check["name"]: check for check in result.json()["checks"]}


def test_paper_plan_uses_the_saved_account_its_positions_and_margin(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path) -> None:
    saved = saved_paper_account(state_dir, (OptionKind.CALL, Side.SELL, "5"))
    margin = saved.account().available_margin_pct
    assert margin is not None
    assert margin < 100  # a short call ties up margin: a new account would show 100 %
    result = _plan(capsys, tmp_path)
    assert result.code == 0, result.err
    plan = result.json()
    assert plan["account"]["source"] == "saved"
    assert plan["seed"] == saved.seed == 11
    assert str(state_dir / "paper-venue.json") in plan["account"]["detail"]
    assert "1 position" in plan["account"]["detail"]
    detail = str(_checks(result)["min_available_margin_pct"]["detail"])
    assert "100.00 %" not in detail
    # The paper market moves with the wall clock between saving and planning (a loaded
    # machine takes seconds): the plan's margin is the saved account's, moved a little.
    found = re.search(r"available margin ([0-9.]+) %", detail)
    assert found is not None, detail
    assert abs(float(found.group(1)) - float(margin)) < 2


def test_the_text_says_which_account_it_planned_against(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path) -> None:
    saved_paper_account(state_dir)
    result = run_cli(capsys, "plan", MICRO, "--env-file", str(tmp_path / "absent.env"))
    assert result.code == 0, result.err
    assert f"account: the saved paper account in {state_dir / 'paper-venue.json'}" in result.out


def test_without_a_saved_account_it_says_it_plans_on_a_new_one(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path) -> None:
    plan = _plan(capsys, tmp_path).json()
    assert plan["account"]["source"] == "new"
    assert plan["account"]["detail"].startswith("no saved paper account in")


def test_a_seed_asks_about_a_new_account_and_says_the_saved_one_is_not_used(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path) -> None:
    saved_paper_account(state_dir)
    plan = _plan(capsys, tmp_path, MICRO, "--seed", "5").json()
    assert plan["account"]["source"] == "new"
    assert plan["seed"] == 5
    assert "is not used" in plan["account"]["detail"]


def test_an_unreadable_saved_account_is_a_finding_not_a_traceback(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path) -> None:
    (state_dir / "paper-venue.json").write_text("{not json", encoding="utf-8")
    result = _plan(capsys, tmp_path)
    assert result.code == 1
    assert "paper-venue.json cannot be read" in result.err


def _running_service(state_dir: Path, launched: datetime, *strategies: str) -> InstanceLock:
    """What `runner run` leaves while it runs: its lock held, a fresh heartbeat."""
    lock = InstanceLock.for_state_dir(state_dir)
    lock.acquire()
    write_heartbeat(state_dir, Heartbeat(at=datetime.now(UTC), tick=60, environment="paper",
                                         strategies=strategies, launched_at=launched))
    return lock


def test_cycles_count_from_the_running_services_launch(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path) -> None:
    launched = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    lock = _running_service(state_dir, launched, "micro_strangle", "rfq_endurance")
    try:
        result = _plan(capsys, tmp_path, RFQ)
    finally:
        lock.release()
    plan = result.json()
    assert plan["launch"] == launched.isoformat()
    assert f"running service's start (pid {os.getpid()}" in plan["launch_source"]
    # launched 3 minutes ago: cycle 0 (entries from launch + 1 min for 5 min) is open now
    assert _checks(result)["schedule"]["passed"] is True
    assert plan["schedule"]["windows"][0]["state"] == "open"


def test_with_no_service_running_cycles_count_from_now_and_it_says_so(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path) -> None:
    result = _plan(capsys, tmp_path, RFQ)
    plan = result.json()
    assert plan["launch_source"] == "no service is running: counted as if it started now"
    assert _checks(result)["schedule"]["passed"] is False  # cycle 0 opens 1 min after start


def test_a_strategy_the_running_service_does_not_run_counts_from_now(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path) -> None:
    launched = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    lock = _running_service(state_dir, launched, "micro_strangle")
    try:
        plan = _plan(capsys, tmp_path, RFQ).json()
    finally:
        lock.release()
    assert plan["launch"] != launched.isoformat()
    assert "does not run this strategy" in plan["launch_source"]


def test_a_heartbeat_without_its_lock_is_a_stopped_service(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path) -> None:
    """A beat left by a killed service is not believed (nobody holds the lock)."""
    lock = _running_service(state_dir, datetime.now(UTC) - timedelta(minutes=3),
                            "rfq_endurance")
    lock.release()
    plan = _plan(capsys, tmp_path, RFQ).json()
    assert plan["launch_source"].startswith("no service is running")


def test_a_restart_inside_a_schedule_resumes_it_with_its_trades_as_the_service_does() -> None:
    """Lessons A1: cycle 0 of the run launched 20 minutes ago traded; planning now (no
    service) resumes that launch, so cycle 1 is next and cycle 0's trade counts."""
    (spec,) = [s for s in load_strategies([Path(RFQ), STRATEGIES / "profiles.yaml"]).specs
               if s.name == "rfq_endurance"]
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    earlier = now - timedelta(minutes=20)
    opened = earlier + timedelta(minutes=1, seconds=5)
    trade = Trade.create("rfq-1", spec.name, (TradeLeg(0, "BTCUSD-4MAR26-94000-C", Side.BUY,
                                                       Decimal("0.5")),), opened, cycle=0)
    trade = trade.moved_to(TradeStage.FAILED, "open failed", opened + timedelta(seconds=1))
    plan = make_plan(spec, SimVenue(ManualClock(now), seed=7), now,
                     history=[with_launch(trade, earlier)], history_source="test",
                     launch=now, launch_source="no service is running", calendar_days=1)
    assert plan.data["launch"] == earlier.isoformat()
    assert "resumes the schedule launched" in plan.data["launch_source"]
    states = [w["state"] for w in plan.data["schedule"]["windows"]]
    assert states == ["past", "open", "upcoming"]  # cycle 1 opened at +16 min


def test_the_text_names_the_launch_it_counts_from_to_the_second(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, state_dir: Path) -> None:
    launched = datetime.now(UTC) - timedelta(minutes=3)  # with microseconds, as a service's
    lock = _running_service(state_dir, launched, "rfq_endurance")
    try:
        result = run_cli(capsys, "plan", RFQ, "--env-file", str(tmp_path / "absent.env"))
    finally:
        lock.release()
    assert f"counted from launch {launched:%Y-%m-%d %H:%M:%S} UTC)" in result.out
    assert f"  launch: the running service's start (pid {os.getpid()}" in result.out
    assert f"{launched:.%f}" not in result.out
