"""Shared helpers of the command-line tests: run `runner` in process, record port calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from runner.cli.app import main
from runner.exchange.read_only import WRITE_METHODS


@dataclass(frozen=True, slots=True)
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliResult:
    """Run `runner ARGV...` in process and capture what it printed."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


class RecordingExchange:
    """Delegates every port call to `inner` and records the method names, in order."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Callable[..., Any]:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return target(*args, **kwargs)
        return recorded

    @property
    def writes(self) -> list[str]:
        return [name for name in self.calls if name in WRITE_METHODS]
