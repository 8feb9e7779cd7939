"""The strategy language: YAML files in, frozen `StrategySpec`s and diagnostics out.

Public API (imported lazily, so `runner --help` does not load YAML and jsonschema):
    load_strategies(paths) -> LoadResult(specs, diagnostics, failed_files)
    load_strategy_file(path) -> (StrategySpec | None, diagnostics)
    Diagnostic, Severity, LoadResult, StrategySpec
The model types live in `runner.strategy.model`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.strategy.diagnostics import Diagnostic, Severity
    from runner.strategy.model import StrategySpec
    from runner.strategy.validate import LoadResult, load_strategies, load_strategy_file

__all__ = [
    "Diagnostic",
    "LoadResult",
    "Severity",
    "StrategySpec",
    "load_strategies",
    "load_strategy_file",
]

_HOMES = {
    "Diagnostic": "runner.strategy.diagnostics",
    "Severity": "runner.strategy.diagnostics",
    "StrategySpec": "runner.strategy.model",
    "LoadResult": "runner.strategy.validate",
    "load_strategies": "runner.strategy.validate",
    "load_strategy_file": "runner.strategy.validate",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'runner.strategy' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
