"""Which files a command loads: the strategy files named, plus the profiles beside them.

One rule for `validate`, `plan`, `simulate`, `run` and `status --strategies`, so a file
that validates also plans, simulates and runs (issue 9 item 4):
- no file named: every `strategies.d/*.yaml` (the profiles file is among them);
- files named: those files, plus the profiles files beside each of them, i.e. the YAML
  files whose name contains "profiles" in the same directory, or, when that directory has
  none, in its parent (`strategies.d/examples/x.yaml` uses `strategies.d/profiles.yaml`).
  Profiles files are loaded with the named files; other strategies beside them are not.

`runnable_specs` adds the rule for the commands that run what they are given
(`simulate`): a named file that is invalid, or whose strategy is disabled, is an error
the caller turns into exit 2. It is never dropped silently.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the loader is imported when used, so building the parser stays cheap
    from runner.strategy.model import StrategySpec
    from runner.strategy.validate import LoadResult

DEFAULT_GLOB: Final = "strategies.d/*.yaml"
PROFILES_MARK: Final = "profiles"
YAML_SUFFIXES: Final = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class FileSet:
    """The files named (or found by the default glob) and the profiles files added."""

    named: tuple[Path, ...]
    companions: tuple[Path, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        return (*self.named, *self.companions)


def gather(named: Sequence[Path], base: Path | None = None) -> FileSet:
    """The file set for `named`; with nothing named, `strategies.d/*.yaml` under `base`."""
    if not named:
        return FileSet(tuple(sorted((base or Path()).glob(DEFAULT_GLOB))))
    seen = {path.resolve() for path in named}
    companions: list[Path] = []
    for path in named:
        for profiles in profiles_beside(path):
            if profiles.resolve() not in seen:
                seen.add(profiles.resolve())
                companions.append(profiles)
    return FileSet(tuple(dict.fromkeys(named)), tuple(companions))


def strategy_files(named: Sequence[Path]) -> list[Path]:
    """Every file of the set, named ones first (what `runner run` loads)."""
    return list(gather(named).files)


def profiles_beside(path: Path) -> list[Path]:
    """The profiles files in `path`'s directory, else in its parent directory."""
    here = _profiles_in(path.parent)
    return here if here else _profiles_in(path.parent.parent)


def _profiles_in(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(item for item in directory.iterdir()
                  if item.suffix in YAML_SUFFIXES and PROFILES_MARK in item.stem
                  and item.is_file())


def load_file_set(file_set: FileSet) -> LoadResult:
    """Load every file of the set together (profiles span files)."""
    from runner.strategy.validate import load_strategies

    return load_strategies(list(file_set.files))


def why_not_runnable(result: LoadResult, file_set: FileSet) -> list[str]:
    """One sentence per named file that cannot run: invalid, or its strategy disabled."""
    problems = []
    for path in file_set.named:
        if path in result.failed_files:
            problems.append(f"{path} is not a valid strategy file (see above); fix it "
                            "(runner validate) or leave it out")
            continue
        for spec in result.specs:
            if spec.source == path and not spec.enabled:
                problems.append(f"{path}: strategy '{spec.name}' is disabled "
                                "(enabled: false); set enabled: true or leave the file out")
    return problems


def runnable_specs(named: Sequence[Path], command: str) -> list[StrategySpec] | None:
    """Load the set, print every diagnostic; None (exit 2) when a named file cannot run."""
    file_set = gather(named)
    missing = [path for path in file_set.named if not path.is_file()]
    for path in missing:
        print(f"runner {command}: {path}: no such file", file=sys.stderr)
    if missing:
        return None
    result = load_file_set(file_set)
    for diagnostic in result.diagnostics:
        print(diagnostic.render(), file=sys.stderr)
    problems = why_not_runnable(result, file_set)
    for problem in problems:
        print(f"runner {command}: {problem}", file=sys.stderr)
    if problems:
        return None
    if not any(spec.enabled for spec in result.specs):
        print(f"runner {command}: no enabled, valid strategy to run", file=sys.stderr)
        return None
    return list(result.specs)
