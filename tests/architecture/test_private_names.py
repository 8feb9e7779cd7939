"""A name with a leading underscore stays in its module: no `runner` module imports another's
private name (as `service/live.py` once imported `_load_specs` from a command module)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.architecture.graph import module_name, module_paths


def private_imports(source: str) -> list[str]:
    """The private names `source` imports from `runner` modules (relative imports included)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.level or
                                                 (node.module or "").startswith("runner")):
            found += [alias.name for alias in node.names
                      if alias.name.startswith("_") and not alias.name.startswith("__")]
    return found


@pytest.mark.parametrize("path", module_paths(), ids=module_name)
def test_module_imports_no_private_name_of_another(path: Path) -> None:
    assert private_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("source", [
    "from runner.cli.run_simulate import _load_specs\n",
    "def run():\n    from runner.cli.run_simulate import _load_specs\n",
    "from .run_simulate import main, _load_specs\n",
])
def test_a_planted_private_import_is_caught(source: str) -> None:
    assert private_imports(source) == ["_load_specs"]


def test_a_dunder_import_is_not_private() -> None:
    assert private_imports("from runner import __version__\n") == []
