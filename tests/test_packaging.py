"""Packaging (issue 9 item 7): the JSON Schema ships inside the package, so an installed
wheel validates, plans and simulates without the checkout's `schemas/` folder.

The package copy `runner/strategy/strategy.schema.json` is what the code reads (through
`importlib.resources`); `schemas/strategy.schema.json` stays at the top level for the
editors' `yaml-language-server` modeline and must be the very same bytes.
A wheel holds the package's modules plus its declared package data, so copying the
package directory (and only it) outside the checkout lays the code out as a wheel
install does; `.ci/run` also builds and installs the real wheel in a fresh venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGED = REPO / "runner" / "strategy" / "strategy.schema.json"
TOP_LEVEL = REPO / "schemas" / "strategy.schema.json"


def test_the_packaged_schema_and_the_editor_schema_are_the_same_bytes() -> None:
    assert PACKAGED.read_bytes() == TOP_LEVEL.read_bytes(), (
        "runner/strategy/strategy.schema.json is the source: edit it, then copy it over "
        "schemas/strategy.schema.json (cp runner/strategy/strategy.schema.json schemas/)")


def test_every_data_file_of_the_package_is_declared_as_package_data() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["package-data"]
    data = [path for path in (REPO / "runner").rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc")]
    for path in data:
        package = ".".join(path.parent.relative_to(REPO).parts)
        assert path.name in declared.get(package, []), f"{path} is not package data"


def test_the_schema_is_found_through_the_package() -> None:
    from runner.strategy.schema import schema_resource, strategy_schema

    assert schema_resource().name == "strategy.schema.json"
    assert strategy_schema()["$schema"].startswith("https://json-schema.org/")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package alone (as a wheel installs it) in a site folder outside the checkout."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(REPO / "runner", site / "runner",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return site


@pytest.mark.parametrize("command", [
    ["validate", "strategies.d/micro_strangle.yaml", "strategies.d/rfq_endurance.yaml"],
    ["plan", "strategies.d/rfq_endurance.yaml", "--at", "2026-03-02T10:00:00Z"],
    ["simulate", "strategies.d/micro_strangle.yaml", "--duration", "1m",
     "--start", "2026-03-02T10:00:00Z"],
], ids=["validate", "plan", "simulate"])
def test_an_installed_package_validates_plans_and_simulates_outside_the_checkout(
        command: list[str], installed: Path, tmp_path: Path) -> None:
    (tmp_path / "strategies.d").mkdir()
    for name in ("micro_strangle.yaml", "rfq_endurance.yaml", "profiles.yaml"):
        shutil.copy(REPO / "strategies.d" / name, tmp_path / "strategies.d" / name)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TRADING_", "COINCALL_", "RUNNER_"))}
    env["PYTHONPATH"] = str(installed)
    completed = subprocess.run([sys.executable, "-m", "runner", *command], cwd=tmp_path,
                               env=env, capture_output=True, text=True, timeout=120,
                               check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr


# The console script pip writes for `[project.scripts] runner = "<module>:<attr>"`.
CONSOLE_SCRIPT = "import sys\nfrom {module} import {attr}\nsys.exit({attr}())\n"
# Every entry point a `runner` executable installed so far may carry: installs are not
# redone on an update (a Windows service's runner.exe keeps the one it was built with).
ENTRY_POINTS_EVER_INSTALLED = ("runner.cli:main",)


def _declared_entry_point() -> str:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["scripts"]["runner"]


@pytest.mark.parametrize("entry_point", sorted({_declared_entry_point(),
                                                *ENTRY_POINTS_EVER_INSTALLED}))
def test_the_installed_runner_executable_validates_the_shipped_strategies(
        entry_point: str) -> None:
    """`runner validate strategies.d/*.yaml` through the console script as pip writes it:
    the declared entry point, and every one an older install still carries."""
    module, attr = entry_point.split(":")
    shipped = sorted(str(p) for p in (REPO / "strategies.d").glob("*.yaml"))
    completed = subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT.format(module=module, attr=attr),
         "validate", *shipped], cwd=REPO, capture_output=True, text=True, timeout=60,
        check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "Traceback" not in completed.stderr, completed.stderr
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 invalid" in completed.stdout
