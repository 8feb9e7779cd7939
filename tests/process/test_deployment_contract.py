"""Issue 7 item 6, deployment: NSSM, systemd and both READMEs apply the exit-code contract of
`runner/service/exit_codes.py`, and the READMEs name the state files the runner really writes.

The service managers cannot run here, so this test reads their files: a code added or
renumbered in `runner.service.exit_codes` without the deployment following fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from runner.service import exit_codes
from runner.service.heartbeat import HEARTBEAT_FILE_NAME
from runner.service.instance_lock import LOCK_FILE_NAME
from runner.sim.persistence import PAPER_VENUE_FILE_NAME
from runner.store.snapshot_file import SNAPSHOT_FILE_NAME
from runner.store.store import STORE_FILE_NAME

REPO = Path(__file__).resolve().parents[2]
DEPLOYMENT = REPO / "deployment"
STATE_FILES = {STORE_FILE_NAME, HEARTBEAT_FILE_NAME, SNAPSHOT_FILE_NAME,
               PAPER_VENUE_FILE_NAME, LOCK_FILE_NAME}
NOT_RESTARTED = (exit_codes.STOPPED, exit_codes.CONFIGURATION)
RESTARTED = (exit_codes.LOOP_FAILED, exit_codes.ENVIRONMENT)
STOP_BUDGET_SECONDS = 10  # what `runner run` needs to stop (issue 7 item 7)


def nssm_settings() -> list[str]:
    text = (DEPLOYMENT / "windows" / "install-service.ps1").read_text(encoding="utf-8")
    return [m.group(1).strip() for m in
            re.finditer(r"^\s*Invoke-Nssm set \$ServiceName (.+)$", text, re.MULTILINE)]


def systemd_unit() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    text = (DEPLOYMENT / "linux" / "runner.service").read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_nssm_restarts_3_and_4_after_a_delay_and_never_0_or_2() -> None:
    settings = nssm_settings()
    assert "AppExit Default Restart" in settings
    for code in NOT_RESTARTED:
        assert f"AppExit {code} Exit" in settings
        assert settings.index("AppExit Default Restart") < settings.index(f"AppExit {code} Exit")
    for code in RESTARTED:
        assert f"AppExit {code} Exit" not in settings
    delay = next(s for s in settings if s.startswith("AppRestartDelay "))
    assert int(delay.split()[1]) >= 10_000
    console = next(s for s in settings if s.startswith("AppStopMethodConsole "))
    assert int(console.split()[1]) >= STOP_BUDGET_SECONDS * 1000


def test_systemd_never_restarts_a_configuration_error_nor_loops() -> None:
    unit = systemd_unit()
    assert unit["Restart"] == ["on-failure"]
    prevented = {int(code) for value in unit["RestartPreventExitStatus"]
                 for code in value.split()}
    assert prevented == {exit_codes.CONFIGURATION}
    assert int(unit["RestartSec"][0]) >= 10
    assert int(unit["StartLimitIntervalSec"][0]) > 0  # 0 would mean "loop forever"
    assert int(unit["StartLimitBurst"][0]) >= 1
    assert int(unit["TimeoutStopSec"][0]) >= STOP_BUDGET_SECONDS


def test_both_readmes_state_every_exit_code_of_the_contract() -> None:
    for readme in (REPO / "README.md", DEPLOYMENT / "README.md"):
        text = readme.read_text(encoding="utf-8")
        rows = {int(m.group(1)) for m in re.finditer(r"^\| (\d) \|", text, re.MULTILINE)}
        assert rows >= set(exit_codes.MEANINGS), readme
    deployment = (DEPLOYMENT / "README.md").read_text(encoding="utf-8")
    assert "AppExit 2 Exit" in deployment
    assert "RestartPreventExitStatus=2" in deployment


def test_the_readmes_name_the_real_state_files() -> None:
    for readme in (REPO / "README.md", DEPLOYMENT / "README.md"):
        text = readme.read_text(encoding="utf-8")
        named = set(re.findall(r"([\w-]+\.(?:json|sqlite3|lock))\b", text))
        assert named <= STATE_FILES | {"schema.json", "strategy.schema.json", "out.json"}, (
            readme, named - STATE_FILES)
    state_row = next(line for line in (REPO / "README.md").read_text().splitlines()
                     if line.startswith("| `state/"))
    for name in STATE_FILES:
        assert name in state_row
