"""The shipped strategies and examples are valid, faithful, and the commands work."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.cli.app import main
from runner.domain.instruments import OptionKind
from runner.domain.orders import Side
from runner.strategy import load_strategies
from runner.strategy.model import (
    CycleSchedule,
    DeltaStrike,
    DteExpiry,
    EndOfCycleExit,
    LimitExecution,
    MaxHoldExit,
    MinAvailableMarginCondition,
    NextExpiry,
    RfqExecution,
)
from runner.strategy.reference import render_reference
from tests.shipped import EXAMPLES, SHIPPED, copy_shipped

from .helpers_spec import REPO


def _specs() -> dict[str, object]:
    result = load_strategies([*SHIPPED, *EXAMPLES])
    assert result.diagnostics == ()
    return {spec.name: spec for spec in result.specs}


def test_validate_accepts_every_shipped_strategy_and_example(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    files = [str(path.relative_to(REPO)) for path in [*SHIPPED, *EXAMPLES]]
    assert main(["validate", *files]) == 0
    assert capsys.readouterr().out.endswith(
        f"{len(files)} files checked: {len(files)} valid, 0 invalid (0 errors, 0 warnings)\n")


def test_validate_without_arguments_checks_strategies_d(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    copy_shipped(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 0
    assert f"{len(SHIPPED)} files checked" in capsys.readouterr().out


def test_every_file_starts_with_the_schema_modeline() -> None:
    for path in SHIPPED:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/strategy.schema.json"
    for path in EXAMPLES:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../schemas/strategy.schema.json"


def test_examples_are_disabled_and_live_strategies_enabled() -> None:
    specs = _specs()
    for path in EXAMPLES:
        assert not next(s for s in specs.values() if s.source == path).enabled
    assert specs["micro_strangle"].enabled
    assert specs["rfq_endurance"].enabled


def test_micro_strangle_is_faithful_to_the_live_strategy() -> None:
    spec = _specs()["micro_strangle"]
    call, put = spec.legs
    assert (call.kind, call.side, call.qty) == (OptionKind.CALL, Side.BUY, Decimal("0.01"))
    assert (put.kind, put.side, put.qty) == (OptionKind.PUT, Side.BUY, Decimal("0.01"))
    assert call.strike == DeltaStrike(Decimal("0.15"))
    assert put.strike == DeltaStrike(Decimal("-0.15"))
    assert call.expiry == put.expiry == NextExpiry()
    expected_limit = LimitExecution(timedelta(seconds=30), 10, Decimal(2))
    assert spec.execution.open == spec.execution.close == expected_limit
    assert spec.entry.conditions == (MinAvailableMarginCondition(Decimal(30)),)
    assert spec.exits == (MaxHoldExit(timedelta(seconds=10)),)
    timing = spec.timing
    assert (timing.max_concurrent_trades, timing.max_trades_per_day) == (1, 2)
    assert (timing.cooldown, timing.check_interval) == (timedelta(seconds=10),
                                                       timedelta(seconds=5))


def test_rfq_endurance_runs_three_cycles_fifteen_minutes_apart() -> None:
    spec = _specs()["rfq_endurance"]
    assert isinstance(spec.schedule, CycleSchedule)
    launch = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    windows = spec.schedule.windows(launch)
    assert [(w.open_start.strftime("%H:%M"), w.open_end.strftime("%H:%M"),
             w.close_at.strftime("%H:%M")) for w in windows] == [
        ("10:01", "10:06", "10:11"), ("10:16", "10:21", "10:26"), ("10:31", "10:36", "10:41")]
    assert [leg.strike for leg in spec.legs] == [DeltaStrike(Decimal("0.05")),
                                                  DeltaStrike(Decimal("-0.05"))]
    assert all(leg.qty == Decimal("0.5") and leg.side is Side.BUY for leg in spec.legs)
    assert spec.legs[0].expiry == DteExpiry(2, 2, 2)
    rfq = spec.execution.open
    assert isinstance(rfq, RfqExecution)
    assert (rfq.timeout, rfq.min_improvement_pct) == (timedelta(minutes=5), Decimal(0))
    assert isinstance(rfq.fallback, LimitExecution)
    assert spec.exits == (EndOfCycleExit(), MaxHoldExit(timedelta(minutes=20)))
    assert spec.entry.conditions == (MinAvailableMarginCondition(Decimal(30)),)


def test_python_dash_m_runner_validate_works_in_a_subprocess() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "runner", "validate", "strategies.d/micro_strangle.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "1 file checked: 1 valid, 0 invalid" in completed.stdout


def test_the_committed_reference_is_exactly_the_docs_output(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs"]) == 0
    printed = capsys.readouterr().out
    committed = (REPO / "docs" / "strategy-reference.md").read_text(encoding="utf-8")
    assert printed == committed == render_reference()


def test_the_reference_documents_every_key_of_the_schema() -> None:
    schema = json.loads((REPO / "schemas" / "strategy.schema.json").read_text(encoding="utf-8"))
    reference = render_reference()
    for definition in [schema, *schema["$defs"].values()]:
        for key in definition.get("properties", {}):
            assert f"`{key}`" in reference, key


def test_every_schema_property_has_a_description() -> None:
    schema = json.loads((REPO / "schemas" / "strategy.schema.json").read_text(encoding="utf-8"))
    missing = []
    for owner, definition in [("(root)", schema), *schema["$defs"].items()]:
        for key, prop in definition.get("properties", {}).items():
            ref = prop.get("$ref", "").rsplit("/", 1)[-1]
            if "description" not in prop and "description" not in schema["$defs"].get(ref, {}):
                missing.append(f"{owner}.{key}")
    assert missing == []


def test_schema_prints_the_schema_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == REPO / "runner" / "strategy" / "strategy.schema.json"  # the packaged copy
    assert printed.read_bytes() == (REPO / "schemas" / "strategy.schema.json").read_bytes()


def test_a_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_no_files_to_check_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 2
    assert "no files match" in capsys.readouterr().err


def test_json_format_lists_diagnostics_for_machines(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert main(["validate", "--format", "json", "tests/corpus/invalid/misspelt_key.yaml"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["errors"] == 1
    assert document["invalid"] == ["tests/corpus/invalid/misspelt_key.yaml"]
    assert document["diagnostics"][0] | {"file": "x"} == {
        "file": "x", "line": 7, "col": 3, "severity": "error", "where": "structure.qyt",
        "what": "unknown key 'qyt'", "fix": "did you mean 'qty'?"}


def test_warnings_fail_only_with_strict(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from .helpers_spec import MINIMAL, with_lines, write

    path = write(tmp_path, with_lines(MINIMAL, "exits:", "timing:\n  max_trades_per_day: "
                                      "unlimited\nexits:"))
    assert main(["validate", str(path)]) == 0
    assert "warning" in capsys.readouterr().out
    assert main(["validate", "--strict", str(path)]) == 1
