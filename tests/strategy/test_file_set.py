"""One file set everywhere (issue 9 item 4): every command loads the strategy files named
plus the profiles files beside them, and a named strategy that cannot run is an error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner.strategy.fileset import gather, profiles_beside
from tests.cli_helpers import run_cli

from .helpers_spec import MINIMAL, REPO

SHIPPED_NAMES = ("micro_strangle.yaml", "rfq_endurance.yaml", "profiles.yaml")
START = "2026-03-02T10:00:00Z"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped strategies (never the user's strategies.d/) as the cwd."""
    target = tmp_path / "strategies.d"
    target.mkdir()
    for name in SHIPPED_NAMES:
        shutil.copy(REPO / "strategies.d" / name, target / name)
    shutil.copytree(REPO / "strategies.d" / "examples", target / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRADING_ENVIRONMENT", raising=False)
    return tmp_path


def test_validate_of_a_strategy_using_shared_profiles_finds_the_profiles_beside_it(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "validate", "strategies.d/rfq_endurance.yaml")
    assert result.code == 0, result.out
    assert "unknown profile" not in result.out
    assert "strategies.d/profiles.yaml" in result.out  # says which profiles it loaded


def test_validate_of_an_example_finds_the_profiles_of_the_parent_directory(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "validate", "strategies.d/examples/reverse_iron_condor_rfq.yaml")
    assert result.code == 0, result.out


def test_simulate_of_a_strategy_using_shared_profiles_runs_it(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = workdir / "report.json"
    result = run_cli(capsys, "simulate", "strategies.d/micro_strangle.yaml",
                     "strategies.d/rfq_endurance.yaml", "--duration", "1m", "--start", START,
                     "--report", str(report))
    assert result.code == 0, result.err
    assert "unknown profile" not in result.err
    assert sorted(json.loads(report.read_text(encoding="utf-8"))["strategies"]) == [
        "micro_strangle", "rfq_endurance"]


def test_simulate_refuses_a_named_invalid_file_instead_of_dropping_it(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = workdir / "strategies.d" / "broken.yaml"
    broken.write_text(MINIMAL.replace("name: sample", "name: broken")
                      .replace("max_hold: 10s", "max_hold: soon"), encoding="utf-8")
    result = run_cli(capsys, "simulate", "strategies.d/micro_strangle.yaml",
                     "strategies.d/broken.yaml", "--duration", "1m", "--start", START)
    assert result.code == 2
    assert "strategies.d/broken.yaml is not a valid strategy file" in result.err


def test_simulate_refuses_a_named_disabled_strategy(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "simulate", "strategies.d/micro_strangle.yaml",
                     "strategies.d/examples/daily_short_strangle.yaml", "--duration", "1m",
                     "--start", START)
    assert result.code == 2
    assert "is disabled (enabled: false)" in result.err


def test_simulate_of_a_missing_file_is_a_usage_error(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "simulate", "strategies.d/nope.yaml", "--duration", "1m")
    assert result.code == 2
    assert "no such file" in result.err


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_validate_and_plan_accept_every_shipped_file_named_alone(
        command: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["--at", START] if command == "plan" else []
    for path in sorted(Path("strategies.d").rglob("*.yaml")):
        if path.name == "profiles.yaml":
            continue
        result = run_cli(capsys, command, str(path), *extra)
        assert result.code == 0, (path, result.out, result.err)


def test_a_named_file_brings_the_profiles_beside_it_or_in_its_parent(workdir: Path) -> None:
    named = [Path("strategies.d/rfq_endurance.yaml")]
    assert gather(named).files == (Path("strategies.d/rfq_endurance.yaml"),
                                   Path("strategies.d/profiles.yaml"))
    assert profiles_beside(Path("strategies.d/examples/zero_dte_straddle.yaml")) == [
        Path("strategies.d/profiles.yaml")]


def test_other_strategies_beside_a_named_file_are_not_loaded(workdir: Path) -> None:
    assert Path("strategies.d/micro_strangle.yaml") not in gather(
        [Path("strategies.d/rfq_endurance.yaml")]).files


def test_nothing_named_means_every_file_of_strategies_d(workdir: Path) -> None:
    assert [path.name for path in gather([]).named] == sorted(SHIPPED_NAMES)
