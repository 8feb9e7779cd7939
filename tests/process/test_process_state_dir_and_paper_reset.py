"""Issue 9 items 5 and 6 with the real processes: `runner run --state-dir --log-dir` keeps
everything where it is told; `runner plan` against the running paper service uses its saved
account and its launch; `runner paper reset` refuses while it runs, and after it stopped
says what it would do (exit 2) before doing it with `--yes`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.process.helpers_process import paper_env, run_cli, start_runner, stop, wait_for

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


def _beat(state: Path) -> dict[str, object]:
    try:
        return json.loads((state / "paper" / "heartbeat.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def test_state_and_logs_go_where_the_options_say_and_plan_and_reset_follow_the_service(
        tmp_path: Path) -> None:
    env = {k: v for k, v in paper_env(tmp_path).items()
           if k not in ("RUNNER_STATE_DIR", "RUNNER_LOG_DIR")}
    state, logs = tmp_path / "my-state", tmp_path / "my-logs"
    service = start_runner(tmp_path, env, "service", "--state-dir", str(state),
                           "--log-dir", str(logs))
    try:
        wait_for("a tick", lambda: int(str(_beat(state).get("tick", 0))) >= 1, 30, service)
        assert (logs / "trading.log").is_file()
        assert not (tmp_path / "state").exists()
        assert not (tmp_path / "logs").exists()
        plan = run_cli(tmp_path, env, "plan", "probe.yaml", "--state-dir", str(state),
                       "--format", "json")
        assert plan.returncode == 0, plan.stderr
        data = json.loads(plan.stdout)
        assert data["account"]["source"] == "saved"
        assert data["launch"] == _beat(state)["launched_at"]
        assert f"running service's start (pid {service.pid}" in data["launch_source"]
        refused = run_cli(tmp_path, env, "paper", "reset", "--yes", "--state-dir", str(state))
        assert refused.returncode == 1
        assert f"the paper service is running with {state / 'paper'} (pid {service.pid})" \
            in refused.stderr
    finally:
        assert stop(service) == 0
    asked = run_cli(tmp_path, env, "paper", "reset", "--state-dir", str(state))
    assert asked.returncode == 2
    assert "would move" in asked.stdout
    assert (state / "paper" / "paper-venue.json").is_file()
    done = run_cli(tmp_path, env, "paper", "reset", "--yes", "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    (archive,) = (state / "paper").glob("reset-*")
    assert {"paper-venue.json", "runner.sqlite3"} <= {p.name for p in archive.iterdir()}
    assert not (state / "paper" / "paper-venue.json").exists()
