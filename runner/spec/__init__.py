"""The strategy language: YAML files in, frozen `StrategySpec`s and diagnostics out.

Public API (imported lazily, so `runner --help` does not load YAML and jsonschema):
    load_strategies(paths) -> LoadResult(specs, diagnostics, failed_files)
    load_strategy_file(path) -> (StrategySpec | None, diagnostics)
    Diagnostic, Severity, LoadResult, StrategySpec
The model types live in `runner.spec.model`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.spec.diagnostics import Diagnostic, Severity
    from runner.spec.model import StrategySpec
    from runner.spec.validate import LoadResult, load_strategies, load_strategy_file

__all__ = [
    "Diagnostic",
    "LoadResult",
    "Severity",
    "StrategySpec",
    "load_strategies",
    "load_strategy_file",
]

_HOMES = {
    "Diagnostic": "runner.spec.diagnostics",
    "Severity": "runner.spec.diagnostics",
    "StrategySpec": "runner.spec.model",
    "LoadResult": "runner.spec.validate",
    "load_strategies": "runner.spec.validate",
    "load_strategy_file": "runner.spec.validate",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'runner.spec' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
