"""Diagnostics: one problem found in a strategy file, told so a trader can act on it.

Every check of the strategy language (YAML syntax, schema, semantics) reports through
`Diagnostic`; nothing raises at the user. The text form is pinned by golden files:

    path:line:col: error: <where>: <what>; <how to fix>

`where` is the document path (`legs[1].strike.delta`, `(top level)` for the root).
Lines and columns are 1-based, as editors count them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

TOP_LEVEL: Final = "(top level)"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    file: Path
    line: int
    col: int
    severity: Severity
    where: str
    what: str
    fix: str

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def render(self) -> str:
        """The one-line text form."""
        return (f"{self.file}:{self.line}:{self.col}: {self.severity.value}: "
                f"{self.where}: {self.what}; {self.fix}")

    def as_dict(self) -> dict[str, object]:
        return {
            "file": str(self.file), "line": self.line, "col": self.col,
            "severity": self.severity.value, "where": self.where, "what": self.what,
            "fix": self.fix,
        }


def format_where(path: Sequence[str | int]) -> str:
    """`("legs", 1, "strike", "delta")` -> `legs[1].strike.delta`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or TOP_LEVEL


def sort_key(diagnostic: Diagnostic) -> tuple[str, int, int, str]:
    return (str(diagnostic.file), diagnostic.line, diagnostic.col, diagnostic.what)


def count(diagnostics: Iterable[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings)."""
    items = list(diagnostics)
    errors = sum(1 for item in items if item.is_error)
    return errors, len(items) - errors


def _plural(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def summary_line(files: int, invalid: int, diagnostics: Iterable[Diagnostic]) -> str:
    """`2 files checked: 1 valid, 1 invalid (3 errors, 1 warning)`."""
    errors, warnings = count(diagnostics)
    return (f"{_plural(files, 'file')} checked: {files - invalid} valid, {invalid} invalid "
            f"({_plural(errors, 'error')}, {_plural(warnings, 'warning')})")


def render_json(files: Sequence[Path], invalid: Sequence[Path],
                diagnostics: Sequence[Diagnostic]) -> str:
    """The machine form of a validation run."""
    errors, warnings = count(diagnostics)
    document = {
        "files": [str(path) for path in files],
        "invalid": [str(path) for path in invalid],
        "errors": errors,
        "warnings": warnings,
        "diagnostics": [item.as_dict() for item in diagnostics],
    }
    return json.dumps(document, indent=2)
