"""The dependency direction of design.md, enforced by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "runner"

# package prefix -> imports it must never make
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "runner.domain": ("runner.spec", "runner.engine", "runner.execution", "runner.exchange",
                      "runner.store", "runner.service", "yaml", "jsonschema", "requests",
                      "loguru", "sqlite3"),
    "runner.spec": ("runner.engine", "runner.execution", "runner.exchange", "runner.store",
                    "runner.service", "requests", "sqlite3", "loguru"),
    "runner.engine": ("runner.execution", "runner.exchange", "runner.store", "runner.service",
                      "requests", "sqlite3", "loguru", "schedule", "time"),
    "runner.execution": ("runner.exchange", "runner.store", "runner.service", "requests",
                         "sqlite3", "loguru", "schedule", "time"),
    "runner.exchange": ("runner.engine", "runner.execution", "runner.store", "runner.service",
                        "runner.spec"),
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("path", _modules(), ids=_module_name)
def test_module_respects_the_dependency_direction(path: Path) -> None:
    module = _module_name(path)
    rules = [banned for prefix, banned in FORBIDDEN.items() if _is_under(module, prefix)]
    violations = sorted(
        imported for imported in _imports(path)
        for banned in rules for forbidden in banned if _is_under(imported, forbidden)
    )
    assert violations == [], f"{module} imports {violations}"


@pytest.mark.parametrize("path", _modules(), ids=_module_name)
def test_the_core_never_reads_the_wall_clock(path: Path) -> None:
    module = _module_name(path)
    if not any(_is_under(module, p) for p in ("runner.engine", "runner.execution",
                                             "runner.spec", "runner.domain")):
        return
    source = path.read_text(encoding="utf-8")
    allowed_clock = module == "runner.domain.clock"
    assert allowed_clock or "datetime.now(" not in source, f"{module} reads the wall clock"
    assert allowed_clock or "time.sleep(" not in source, f"{module} sleeps"
