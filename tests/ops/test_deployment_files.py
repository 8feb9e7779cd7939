"""Static checks of deployment/: they keep A2, A9, H1, H2 and H5 from regressing.

The scripts cannot run here (no NSSM, no systemd session), so these tests read them:
restart on failure only, a clean-stop window, in-process rotation, heartbeat-based
liveness, and no routine command that deletes anything, least of all state.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DEPLOYMENT = Path(__file__).resolve().parents[2] / "deployment"
WINDOWS = DEPLOYMENT / "windows"
LINUX = DEPLOYMENT / "linux"
SCRIPTS = sorted([*WINDOWS.glob("*.ps1"), *LINUX.glob("*.sh")])


def _unit(path: Path) -> dict[str, list[str]]:
    """A systemd unit's settings, key -> values in order (sections ignored)."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def _nssm_settings(path: Path) -> list[str]:
    """The `nssm set <service> ...` arguments of install-service.ps1, one string each."""
    pattern = re.compile(r"^\s*Invoke-Nssm set \$ServiceName (.+)$", re.MULTILINE)
    return [m.group(1).strip() for m in pattern.finditer(path.read_text(encoding="utf-8"))]


def _code_lines(path: Path) -> list[str]:
    """Lines that are not comments or comment-block text (PowerShell <# #>, shell #)."""
    text = re.sub(r"<#.*?#>", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [line for line in text.splitlines() if not line.strip().startswith("#")]


def test_a2_systemd_restarts_on_failure_only() -> None:
    unit = _unit(LINUX / "runner.service")
    assert unit["Restart"] == ["on-failure"]
    assert not re.search(r"^\s*Restart\s*=\s*always", (LINUX / "runner.service").read_text(
        encoding="utf-8"), re.MULTILINE)
    assert int(unit["RestartSec"][0]) >= 5


def test_h5_systemd_unit_caps_memory_stops_cleanly_and_writes_only_logs_and_state() -> None:
    unit = _unit(LINUX / "runner.service")
    assert unit["MemoryMax"] == ["1G"]
    assert unit["KillSignal"] == ["SIGTERM"]
    assert int(unit["TimeoutStopSec"][0]) >= 30
    assert unit["ProtectSystem"] == ["strict"]
    writable = unit["ReadWritePaths"][0].split()
    assert sorted(Path(p).name for p in writable) == ["logs", "state"]
    assert unit["StandardOutput"] == ["journal"]
    assert unit["ExecStart"][0].endswith("runner run")


def test_h1_the_systemd_health_timer_runs_runner_health_and_restarts_only_an_active_service(
) -> None:
    service = _unit(LINUX / "runner-health.service")
    timer = _unit(LINUX / "runner-health.timer")
    assert service["Type"] == ["oneshot"]
    assert timer["Unit"] == ["runner-health.service"]
    assert "OnUnitActiveSec" in timer
    script = (LINUX / "health-check.sh").read_text(encoding="utf-8")
    assert '"$exe" health --state-dir' in script
    active_check = script.index("systemctl is-active")
    assert active_check < script.index('systemctl restart "$service"')


def test_a2_nssm_restarts_on_failure_but_not_after_a_clean_exit() -> None:
    settings = _nssm_settings(WINDOWS / "install-service.ps1")
    assert "AppExit Default Restart" in settings
    assert "AppExit 0 Exit" in settings
    assert settings.index("AppExit Default Restart") < settings.index("AppExit 0 Exit")
    delay = next(s for s in settings if s.startswith("AppRestartDelay"))
    assert int(delay.split()[1]) >= 5000


def test_nssm_stops_with_ctrl_c_and_waits_for_a_clean_stop() -> None:
    """A4/A5: the runner finishes its tick on Ctrl+C; NSSM must give it the time."""
    settings = _nssm_settings(WINDOWS / "install-service.ps1")
    console = next(s for s in settings if s.startswith("AppStopMethodConsole"))
    assert int(console.split()[1]) >= 30000
    assert "AppStopMethodSkip 0" in settings


def test_h2_nssm_rotates_captured_output_while_running() -> None:
    settings = _nssm_settings(WINDOWS / "install-service.ps1")
    assert "AppRotateFiles 1" in settings
    assert "AppRotateOnline 1" in settings


def test_the_service_never_runs_as_local_system() -> None:
    settings = _nssm_settings(WINDOWS / "install-service.ps1")
    accounts = [s for s in settings if s.startswith("ObjectName")]
    assert accounts
    assert not any("LocalSystem" in s for s in accounts)


def test_the_service_runs_runner_run_from_the_venv() -> None:
    text = (WINDOWS / "install-service.ps1").read_text(encoding="utf-8")
    assert r"'.venv\Scripts\runner.exe'" in text
    assert "AppParameters run" in _nssm_settings(WINDOWS / "install-service.ps1")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a9_no_deployment_script_deletes_files(script: Path) -> None:
    """A9: routine commands deleted the recovery state; these delete nothing at all."""
    deleting = re.compile(r"\b(Remove-Item|rm|rmdir|del|rd|erase|ri)\b", re.IGNORECASE)
    offenders = [line for line in _code_lines(script) if deleting.search(line)]
    assert offenders == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_h2_no_script_stops_the_service_for_maintenance(script: Path) -> None:
    code = "\n".join(_code_lines(script))
    assert "Stop-Service" not in code
    if script.name != "uninstall-service.ps1":
        assert "nssm stop" not in code.lower()
        assert "& $Nssm stop" not in code


def test_h1_the_windows_health_check_uses_the_heartbeat_never_log_age() -> None:
    code = "\n".join(_code_lines(WINDOWS / "health-check.ps1"))
    assert "& $runnerExe health --max-age $MaxAgeSeconds" in code
    assert "LastWriteTime" not in code
    assert "trading.log" not in code
    running_check = code.index("$service.Status -ne 'Running'")
    assert running_check < code.index("Restart-Service")


def test_setup_never_touches_state() -> None:
    code = "\n".join(_code_lines(WINDOWS / "setup.ps1"))
    assert "Copy-Item '.env.example' '.env'" in code
    assert "if (-not (Test-Path '.env'))" in code
    state_lines = [line for line in code.splitlines() if "state" in line.lower()]
    assert all("New-Item" in line or "foreach" in line for line in state_lines), state_lines


def test_the_readme_documents_install_update_and_that_state_is_never_deleted() -> None:
    readme = (DEPLOYMENT / "README.md").read_text(encoding="utf-8")
    for expected in ("install-service.ps1", "git pull", "runner validate", "runner health",
                     "state", "systemctl"):
        assert expected in readme
    assert "no routine command deletes" in readme.lower()
