"""H1: `runner health` reads the heartbeat and answers with its exit code and one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.cli.app import main
from runner.service.heartbeat import Heartbeat, heartbeat_path, write_heartbeat


def _beat_aged(root: Path, age: timedelta, environment: str = "paper") -> None:
    """The heartbeat of `environment` under the state root (one directory per environment)."""
    write_heartbeat(root / environment, Heartbeat(
        at=datetime.now(UTC) - age, tick=9, environment=environment,
        strategies=("micro_strangle",)))


@pytest.fixture(autouse=True)
def _paper_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADING_ENVIRONMENT", raising=False)


def test_a_fresh_heartbeat_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _beat_aged(tmp_path, timedelta(seconds=5))
    assert main(["health", "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: heartbeat ")
    assert out.count("\n") == 1


def test_a_stale_heartbeat_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _beat_aged(tmp_path, timedelta(minutes=10))
    assert main(["health", "--state-dir", str(tmp_path), "--max-age", "120"]) == 1
    assert capsys.readouterr().out.startswith("stale: heartbeat 6")


def test_max_age_is_respected(tmp_path: Path) -> None:
    _beat_aged(tmp_path, timedelta(seconds=30))
    assert main(["health", "--state-dir", str(tmp_path), "--max-age", "60"]) == 0
    assert main(["health", "--state-dir", str(tmp_path), "--max-age", "10"]) == 1


def test_a_missing_heartbeat_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health", "--state-dir", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().out.startswith("stale: no heartbeat at ")


def test_a_corrupt_heartbeat_exits_1_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "paper").mkdir()
    heartbeat_path(tmp_path / "paper").write_bytes(b"\x00" * 64)
    assert main(["health", "--state-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "corrupt" in captured.out
    assert "Traceback" not in captured.err


def test_the_state_dir_comes_from_the_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNNER_STATE_DIR", str(tmp_path))
    _beat_aged(tmp_path, timedelta(seconds=1))
    assert main(["health"]) == 0


def test_the_state_dir_comes_from_dotenv_when_the_environment_is_silent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "elsewhere"
    _beat_aged(state, timedelta(seconds=1))
    (tmp_path / ".env").write_text(f"RUNNER_STATE_DIR={state}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["health"]) == 0


def test_a_non_positive_max_age_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["health", "--state-dir", str(tmp_path), "--max-age", "0"]) == 2


def test_a_bad_argument_is_a_usage_error() -> None:
    assert main(["health", "--max-age", "soon"]) == 2


def test_the_heartbeat_read_is_the_configured_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 7: a fresh paper heartbeat says nothing about a testnet service."""
    _beat_aged(tmp_path, timedelta(seconds=1), "paper")
    _beat_aged(tmp_path, timedelta(minutes=10), "testnet")
    monkeypatch.setenv("TRADING_ENVIRONMENT", "testnet")
    assert main(["health", "--state-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().out.startswith("stale: heartbeat 6")
    monkeypatch.setenv("TRADING_ENVIRONMENT", "paper")
    assert main(["health", "--state-dir", str(tmp_path)]) == 0


def _json_of(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    import json

    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one object on one line, for a monitor to parse
    return json.loads(out)


def test_json_says_ok_with_no_reasons_for_a_fresh_quiet_service(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _beat_aged(tmp_path, timedelta(seconds=5))
    assert main(["health", "--state-dir", str(tmp_path), "--json"]) == 0
    report = _json_of(capsys)
    assert report["level"] == "ok"
    assert report["reasons"] == []
    assert str(report["line"]).startswith("ok: heartbeat ")
    assert report["state_dir"] == str(tmp_path / "paper")


def test_json_says_degraded_with_each_open_concern_as_a_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 9 item 3: a level and the reasons; a degraded service still exits 0."""
    problems = ("micro_strangle: paused by the operator (entries blocked)",
                "store: DECISION NEEDED: positions the store does not explain (entries blocked)")
    write_heartbeat(tmp_path / "paper", Heartbeat(
        at=datetime.now(UTC), tick=3, environment="paper", strategies=("micro_strangle",),
        problems=problems))
    assert main(["health", "--state-dir", str(tmp_path), "--json"]) == 0
    report = _json_of(capsys)
    assert report["level"] == "degraded"
    assert report["reasons"] == list(problems)


def test_json_says_down_for_a_stale_or_missing_heartbeat(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _beat_aged(tmp_path, timedelta(minutes=10))
    assert main(["health", "--state-dir", str(tmp_path), "--json"]) == 1
    report = _json_of(capsys)
    assert report["level"] == "down"
    assert str(report["reasons"][0]).startswith("stale: heartbeat 6")  # type: ignore[index]
    assert main(["health", "--state-dir", str(tmp_path / "nowhere"), "--json"]) == 1
    assert _json_of(capsys)["level"] == "down"
