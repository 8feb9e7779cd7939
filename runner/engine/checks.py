"""CheckResult: one gate or entry condition, evaluated, with its worded reason.

Every gate and condition the engine evaluates leaves one of these, in evaluation order,
so the service can log why a strategy did not open and `runner plan` can print which
checks pass and which block. A detail always says what was measured against what.

The words are written when read, not when the check is made: a tick evaluates every gate
and condition of every strategy, and formatting their figures was a large share of a tick
that nobody reads (issue 11 item 4). A check keeps a function and the values it writes the
words from (a template's `str.format`, or any function of `args`): cheaper to keep than a
closure, which a tick would make and drop by the hundred. Equality, hashing and repr go by
the words, so a check reads exactly as if they had been written at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

# object.__setattr__ as a plain name: a frozen dataclass's generated __init__ looks it up
# on `object` for every field, which doubles the cost of making one, and a tick makes
# several checks per strategy (issue 11 item 4). Such classes write their own __init__,
# with their fields in order (tests/engine/test_engine_fast_paths.py checks it).
SET_FIELD: Final = object.__setattr__


@dataclass(frozen=True, slots=True, init=False, eq=False, repr=False)
class CheckResult:
    name: str  # the gate, or the condition's YAML key (e.g. "min_available_margin_pct")
    passed: bool
    # The words, or a function writing them from `args` (called on each read: pure).
    explain: str | Callable[..., str]
    args: tuple[object, ...] = ()

    def __init__(self, name: str, passed: bool, explain: str | Callable[..., str],
                 args: tuple[object, ...] = ()) -> None:
        SET_FIELD(self, "name", name)
        SET_FIELD(self, "passed", passed)
        SET_FIELD(self, "explain", explain)
        SET_FIELD(self, "args", args)

    @property
    def detail(self) -> str:
        explain = self.explain
        return explain if isinstance(explain, str) else explain(*self.args)

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
    return first_failure(checks) is None


def first_failure(checks: Iterable[CheckResult]) -> CheckResult | None:
    """The first check that blocked, in evaluation order."""
    for check in checks:  # a plain loop: asked several times per decision, every tick
        if not check.passed:
            return check
    return None
