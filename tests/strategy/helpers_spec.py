"""Shared helpers for the strategy-language tests: write YAML, load it, read diagnostics."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runner.strategy.diagnostics import Diagnostic
from runner.strategy.validate import LoadResult, load_strategies

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """\
version: 1
name: sample
enabled: true
structure:
  type: strangle
  side: buy
  qty: 0.01
  expiry: {next: true}
  call: {delta: 0.15}
  put: {delta: -0.15}
execution:
  open: {mode: limit}
exits:
  - max_hold: 10s
"""


def write(tmp_path: Path, text: str, name: str = "strategy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, name: str = "strategy.yaml") -> LoadResult:
    return load_strategies([write(tmp_path, text, name)])


def with_lines(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


def errors(result: LoadResult) -> list[Diagnostic]:
    return [item for item in result.diagnostics if item.is_error]


def warnings(result: LoadResult) -> list[Diagnostic]:
    return [item for item in result.diagnostics if not item.is_error]


def messages(result: LoadResult) -> list[str]:
    return [f"{item.where}: {item.what}; {item.fix}" for item in result.diagnostics]
