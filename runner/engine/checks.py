"""CheckResult: one gate or entry condition, evaluated, with its worded reason.

Every gate and condition the engine evaluates leaves one of these, in evaluation order,
so the service can log why a strategy did not open and `runner plan` can print which
checks pass and which block. A detail always says what was measured against what.

The words are written when first read, not when the check is made: a tick evaluates every
gate and condition of every strategy, and formatting their figures was a large share of a
tick that nobody reads (issue 11 item 4). Equality, hashing and repr go by the words, so
a check reads exactly as if they had been written at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CheckResult:
    name: str  # the gate, or the condition's YAML key (e.g. "min_available_margin_pct")
    passed: bool
    # The words, or how to write them (called on each read; it must be pure).
    explain: str | Callable[[], str]

    @property
    def detail(self) -> str:
        explain = self.explain
        return explain if isinstance(explain, str) else explain()

    def __str__(self) -> str:
        return f"{self.name}: {'pass' if self.passed else 'BLOCK'} ({self.detail})"

    def __repr__(self) -> str:
        return f"CheckResult(name={self.name!r}, passed={self.passed!r}, detail={self.detail!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CheckResult):
            return NotImplemented
        return (self.name, self.passed, self.detail) == (other.name, other.passed, other.detail)

    def __hash__(self) -> int:
        return hash((self.name, self.passed, self.detail))

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled (or copied) with its words written."""
        return (CheckResult, (self.name, self.passed, self.detail))


def all_passed(checks: Iterable[CheckResult]) -> bool:
    """True when every check passed (an empty set of checks passes)."""
    return all(check.passed for check in checks)


def first_failure(checks: Iterable[CheckResult]) -> CheckResult | None:
    """The first check that blocked, in evaluation order."""
    return next((check for check in checks if not check.passed), None)
