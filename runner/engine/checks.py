"""CheckResult: one gate or entry condition, evaluated, with its worded reason.

Every gate and condition the engine evaluates leaves one of these, in evaluation order,
so the service can log why a strategy did not open and `runner plan` can print which
checks pass and which block. A detail always says what was measured against what.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str  # the gate, or the condition's YAML key (e.g. "min_available_margin_pct")
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {'pass' if self.passed else 'BLOCK'} ({self.detail})"


def all_passed(checks: Iterable[CheckResult]) -> bool:
    """True when every check passed (an empty set of checks passes)."""
    return all(check.passed for check in checks)


def first_failure(checks: Iterable[CheckResult]) -> CheckResult | None:
    """The first check that blocked, in evaluation order."""
    return next((check for check in checks if not check.passed), None)
