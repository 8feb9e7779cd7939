"""No module over 400 lines, and the median stays small (design.md, Size)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from tests.architecture.graph import PACKAGE, module_paths
from tests.architecture.rules import MAX_MODULE_LINES, MEDIAN_MODULE_LINES, OVERSIZE_FOR_NOW

ROOT = PACKAGE.parent


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", [p for p in module_paths() if _name(p) not in OVERSIZE_FOR_NOW],
                         ids=_name)
def test_module_stays_under_the_size_limit(path: Path) -> None:
    lines = _lines(path)
    assert lines <= MAX_MODULE_LINES, f"{_name(path)} has {lines} lines: split it"


def test_each_oversize_exception_is_still_oversize() -> None:
    """An exception whose file was split is removed, so it cannot let the file grow back."""
    for name in OVERSIZE_FOR_NOW:
        assert _lines(ROOT / name) > MAX_MODULE_LINES, name


def test_the_median_module_is_small() -> None:
    median = statistics.median(_lines(p) for p in module_paths())
    assert median < MEDIAN_MODULE_LINES, f"median module: {median} lines"
