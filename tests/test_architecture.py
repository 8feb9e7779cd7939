"""The dependency direction of design.md, enforced by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "runner"

# package prefix -> imports it must never make
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "runner.domain": ("runner.strategy", "runner.engine", "runner.execution", "runner.exchange",
                      "runner.store", "runner.service", "yaml", "jsonschema", "requests",
                      "loguru", "sqlite3"),
    "runner.strategy": ("runner.engine", "runner.execution", "runner.exchange", "runner.store",
                    "runner.service", "requests", "sqlite3", "loguru"),
    "runner.engine": ("runner.execution", "runner.exchange", "runner.store", "runner.service",
                      "requests", "sqlite3", "loguru", "schedule", "time"),
    "runner.execution": ("runner.exchange", "runner.store", "runner.service", "requests",
                         "sqlite3", "loguru", "schedule", "time"),
    "runner.exchange": ("runner.engine", "runner.execution", "runner.store", "runner.service",
                        "runner.strategy"),
    # The simulator checks the adapter: it must share none of its code, or a wrong belief
    # held by both passes every test (issue 8, finding 7: signing).
    "runner.sim": ("runner.exchange.coincall",),
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
    return _imports_in(path.read_text(encoding="utf-8"), _package_of(path))


def _package_of(path: Path) -> str:
    module = _module_name(path)
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imports_in(source: str, package: str) -> set[str]:
    """Absolute names imported by `source`; relative imports resolved against `package`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    anchor = ".".join(parts[: len(parts) - node.level + 1])
    return f"{anchor}.{node.module}" if node.module else anchor


def _violations(module: str, imported: set[str]) -> list[str]:
    rules = [banned for prefix, banned in FORBIDDEN.items() if _is_under(module, prefix)]
    return sorted({name for name in imported for banned in rules for forbidden in banned
                   if _is_under(name, forbidden)})


def _is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("path", _modules(), ids=_module_name)
def test_module_respects_the_dependency_direction(path: Path) -> None:
    module = _module_name(path)
    violations = _violations(module, _imports(path))
    assert violations == [], f"{module} imports {violations}"


@pytest.mark.parametrize("source", [
    "from runner.exchange.coincall.signing import prehash\n",
    "import runner.exchange.coincall.signing as signing\n",
    "from runner.exchange.coincall import signing\n",
    "from runner.exchange import coincall\n",
    "from ..exchange.coincall.signing import sign\n",
    "def verify() -> None:\n    from runner.exchange.coincall.signing import sign\n",
])
def test_a_simulator_module_importing_the_adapter_breaks_the_rules(source: str) -> None:
    """The sim rule can fail: any way of importing the adapter's code is caught."""
    imported = _imports_in(source, "runner.sim")
    assert _violations("runner.sim.signature", imported) != []


def test_a_simulator_module_may_import_the_shared_exchange_errors() -> None:
    imported = _imports_in("from runner.exchange.errors import RateLimited\n",
                           "runner.sim")
    assert _violations("runner.sim.server", imported) == []


@pytest.mark.parametrize("path", _modules(), ids=_module_name)
def test_the_core_never_reads_the_wall_clock(path: Path) -> None:
    module = _module_name(path)
    if not any(_is_under(module, p) for p in ("runner.engine", "runner.execution",
                                             "runner.strategy", "runner.domain")):
        return
    source = path.read_text(encoding="utf-8")
    allowed_clock = module == "runner.domain.clock"
    assert allowed_clock or "datetime.now(" not in source, f"{module} reads the wall clock"
    assert allowed_clock or "time.sleep(" not in source, f"{module} sleeps"
