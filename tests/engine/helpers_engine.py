"""Helpers for the engine tests: decide at a moment and read one check of the decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from runner.domain.snapshot import MarketSnapshot
from runner.engine.checks import CheckResult
from runner.engine.decide import Decision, decide
from runner.engine.state import StrategyState
from runner.strategy.model import StrategySpec
from tests.builders import NOW, make_snapshot


def state(launch: datetime = NOW, **changes: Any) -> StrategyState:
    """A strategy that has never traded, with `changes` applied."""
    return replace(StrategyState.fresh(launch), **changes)


def decide_at(spec: StrategySpec, now: datetime = NOW, *,
              snapshot: MarketSnapshot | None = None,
              strategy_state: StrategyState | None = None) -> Decision:
    """The decision for `spec` at `now` (default market: a realistic snapshot at `now`)."""
    market = snapshot if snapshot is not None else make_snapshot(now)
    return decide(spec, strategy_state or state(), market, now)


def check(decision: Decision, name: str) -> CheckResult:
    """The check called `name` (AssertionError naming what was evaluated when absent)."""
    found = [c for c in decision.checks if c.name == name]
    assert found, f"no check {name!r} among {[c.name for c in decision.checks]}"
    return found[0]


def names(decision: Decision) -> list[str]:
    return [c.name for c in decision.checks]
