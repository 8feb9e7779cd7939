"""Load a set of strategy files: YAML, then schema, then semantics, then the model.

The invariant: every file given is reported on, whatever the others hold. A file that
fails at one stage is not taken further, and its problems never hide another file's.
Checks that span files (unique strategy names, profile names defined once and
resolving) run over every file that parsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runner.strategy.build import ProfileError, build_strategy
from runner.strategy.diagnostics import Diagnostic, Severity, format_where, sort_key
from runner.strategy.load import Document, parse_bytes, read_document
from runner.strategy.model import StrategySpec
from runner.strategy.origin import SpecOrigin
from runner.strategy.schema import check_document
from runner.strategy.semantics import check_built, check_raw


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Valid strategies (disabled ones included), every diagnostic, and the failed files."""

    specs: tuple[StrategySpec, ...]
    diagnostics: tuple[Diagnostic, ...]
    failed_files: tuple[Path, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(item for item in self.diagnostics if item.is_error)

    @property
    def is_valid(self) -> bool:
        return not self.failed_files


@dataclass(frozen=True, slots=True)
class _ProfileSource:
    raw: Mapping[str, Any]
    document: Document
    valid: bool


@dataclass
class _Run:
    diagnostics: dict[Path, list[Diagnostic]] = field(default_factory=dict)

    def add(self, path: Path, found: Sequence[Diagnostic]) -> None:
        self.diagnostics.setdefault(path, []).extend(found)

    def has_errors(self, path: Path) -> bool:
        return any(item.is_error for item in self.diagnostics.get(path, []))


def load_strategies(paths: Sequence[Path]) -> LoadResult:
    """Load and check every file in `paths` together (names and profiles span files)."""
    return _load([(Path(path), None) for path in paths])


def load_sources(sources: Sequence[tuple[Path, str]]) -> LoadResult:
    """Load documents already read (a trade's stored copy), through the very same checks."""
    return _load([(Path(path), text) for path, text in sources])


def _load(sources: Sequence[tuple[Path, str | None]]) -> LoadResult:
    run = _Run()
    documents: list[tuple[Document, bool]] = []
    for path, text in sources:
        try:
            document, problems = (read_document(path) if text is None
                                  else parse_bytes(path, text.encode("utf-8")))
            run.add(path, problems)
            if document is not None:
                schema_problems = check_document(document)
                run.add(document.path, schema_problems)
                documents.append((document, not schema_problems))
        except Exception as error:  # one file must never stop the others
            run.add(path, [_internal(path, error)])
    profiles = _collect_profiles(documents, run)
    specs = _build_all(documents, profiles, run)
    ordered = [path for path, _ in sources]
    failed = tuple(dict.fromkeys(path for path in ordered if run.has_errors(path)))
    diagnostics = tuple(item for path in dict.fromkeys(ordered)
                        for item in sorted(run.diagnostics.get(path, []), key=sort_key))
    valid_specs = tuple(spec for spec in specs if spec.source not in failed)
    return LoadResult(valid_specs, diagnostics, failed)


def load_strategy_file(path: Path) -> tuple[StrategySpec | None, tuple[Diagnostic, ...]]:
    """Load one file on its own (profiles must then be defined in it)."""
    result = load_strategies([path])
    return (result.specs[0] if result.specs else None), result.diagnostics


def _collect_profiles(documents: Sequence[tuple[Document, bool]],
                      run: _Run) -> dict[str, _ProfileSource]:
    found: dict[str, _ProfileSource] = {}
    for document, valid in documents:
        raw_profiles = document.data.get("profiles")
        if not isinstance(raw_profiles, Mapping):
            continue
        for name, raw in raw_profiles.items():
            if name in found:
                first = found[name].document
                line = first.positions.of_key(("profiles", name))[0]
                run.add(document.path, [_error(document, ("profiles", name),
                        f"profile '{name}' is already defined in {first.path}:{line}",
                        "rename one of them; profile names are shared by all files")])
                continue
            found[name] = _ProfileSource(raw, document, valid)
    return found


def _build_all(documents: Sequence[tuple[Document, bool]],
               profiles: Mapping[str, _ProfileSource], run: _Run) -> list[StrategySpec]:
    names: dict[str, Document] = {}
    specs = []
    raw_profiles = {name: source.raw for name, source in profiles.items() if source.valid}
    broken = {name: source.document.path for name, source in profiles.items()
              if not source.valid}
    for document, valid in documents:
        if not valid or "name" not in document.data:
            continue
        name = document.data["name"]
        if name in names:
            first = names[name]
            run.add(document.path, [_error(document, ("name",),
                    f"the name '{name}' is already used by {first.path}",
                    "give every strategy its own name")])
        names.setdefault(name, document)
        try:
            spec = _build_one(document, raw_profiles, broken, run)
            if spec is not None:
                spec = replace(spec, origin=origin_of(document, profiles))
        except Exception as error:  # one file must never stop the others
            run.add(document.path, [_internal(document.path, error)])
            continue
        if spec is not None:
            specs.append(spec)
    for document, valid in documents:
        if valid and "name" not in document.data:  # a profiles file
            run.add(document.path, check_raw(document, raw_profiles, broken))
    return specs


def _build_one(document: Document, raw_profiles: Mapping[str, Any],
               broken: Mapping[str, Path], run: _Run) -> StrategySpec | None:
    problems = check_raw(document, raw_profiles, broken)
    run.add(document.path, problems)
    if any(item.is_error for item in problems):
        return None
    try:
        spec = build_strategy(document.data, document.path, raw_profiles)
    except ProfileError as error:  # a cycle between profiles
        run.add(document.path, [_error(document, ("execution",), str(error),
                                       "make profiles refer to limit profiles only")])
        return None
    run.add(document.path, check_built(spec, document))
    return spec


def origin_of(document: Document, profiles: Mapping[str, _ProfileSource]) -> SpecOrigin:
    """The strategy's text and the texts of the files defining every profile it resolved."""
    used: set[str] = set()
    pending = _profile_names(document.data.get("execution"))
    while pending:
        name = pending.pop()
        if name in used or name not in profiles:
            continue
        used.add(name)
        pending |= _profile_names(profiles[name].raw)
    others = {profiles[name].document.path: profiles[name].document for name in used}
    others.pop(document.path, None)
    return SpecOrigin(((str(document.path), document.text),
                       *((str(path), others[path].text) for path in sorted(others))))


def _profile_names(raw: Any) -> set[str]:
    """Every `profile: name` reference inside a raw execution block."""
    if isinstance(raw, Mapping):
        found = {raw["profile"]} if isinstance(raw.get("profile"), str) else set()
        for value in raw.values():
            found |= _profile_names(value)
        return found
    if isinstance(raw, list):
        return set().union(*(_profile_names(item) for item in raw)) if raw else set()
    return set()


def _internal(path: Path, error: Exception) -> Diagnostic:
    return Diagnostic(path, 1, 1, Severity.ERROR, "(file)",
                      f"the checker failed on this file ({type(error).__name__}: {error})",
                      "report this as a bug in runner, with the file")


def _error(document: Document, path: tuple[str | int, ...], what: str, fix: str) -> Diagnostic:
    line, col = document.positions.of_key(path)
    return Diagnostic(document.path, line, col, Severity.ERROR, format_where(path), what, fix)
