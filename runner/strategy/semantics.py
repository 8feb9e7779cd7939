"""Semantic checks on the document: what the schema cannot say, located by path.

Two passes share this module's entry points:
- `check_raw` (before the model is built, every schema-valid file, profiles files too):
  profile references resolve to the right kind of execution, phased and aggressive
  limit keys are not mixed, durations are positive where zero makes no sense, time
  windows are not empty, expiry windows are ordered.
- `check_built` (after building; see `coherence.py`): deltas, strikes relative to
  legs, schedules, exits reachability, RFQ notional, quota warnings (A8, E2, B13).
A check that finds an error marks the file invalid; warnings do not.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from runner.strategy.coherence import check_spec
from runner.strategy.convert import DURATION_RE, duration, utc_datetime
from runner.strategy.diagnostics import Diagnostic, Severity, format_where
from runner.strategy.load import Document, Path_
from runner.strategy.model import StrategySpec

# duration keys where 0 is meaningful (no cooldown, open at launch, back-to-back cycles)
_ZERO_ALLOWED: Final = frozenset({"cooldown", "first_open_after", "gap"})
_AGGRESSIVE_KEYS: Final = ("fill_timeout", "requote_rounds", "aggressive_buffer_pct")


def at(document: Document, path: Path_, what: str, fix: str,
       severity: Severity = Severity.ERROR) -> Diagnostic:
    """A diagnostic located at the value `path` names."""
    line, col = document.positions.of_value(path)
    return Diagnostic(document.path, line, col, severity, format_where(path), what, fix)


def check_raw(document: Document, profiles: Mapping[str, Mapping[str, Any]],
              broken: Mapping[str, Path]) -> list[Diagnostic]:
    """Raw-document checks; `profiles` are the valid profiles of every file."""
    data = document.data
    found = list(_durations(document, data, ()))
    found += _windows(document, data)
    found += _expiries(document, data, ())
    resolver = _ProfileResolver(document, profiles, broken)
    for name, raw in data.get("profiles", {}).items():
        found += resolver.execution(raw, ("profiles", name), expect=None)
    execution = data.get("execution", {})
    for key in ("open", "close"):
        if key in execution:
            found += resolver.execution(execution[key], ("execution", key), expect=None)
    return found


def check_built(spec: StrategySpec, document: Document) -> list[Diagnostic]:
    """Checks on the built strategy (see coherence.py)."""
    return check_spec(spec, document)


def _durations(document: Document, node: Any, path: Path_) -> Iterator[Diagnostic]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            child = (*path, key)
            if isinstance(value, str) and DURATION_RE.match(value) and key not in _ZERO_ALLOWED:
                if duration(value) == timedelta(0):
                    yield at(document, child, f"{key} is zero", "give a duration above zero")
            else:
                yield from _durations(document, value, child)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _durations(document, item, (*path, index))


def _conditions(items: Any, path: Path_) -> Iterator[tuple[str, Any, Path_]]:
    for index, item in enumerate(items if isinstance(items, list) else []):
        for key, value in item.items():
            child = (*path, index, key)
            yield key, value, child
            if key in ("all", "any"):
                yield from _conditions(value, child)


def _windows(document: Document, data: Mapping[str, Any]) -> Iterator[Diagnostic]:
    for key, value, path in _conditions(data.get("entry", []), ("entry",)):
        if key == "time_window" and value["start"] == value["end"]:
            yield at(document, path, "the window starts and ends at the same time",
                     "give an end different from the start (an end before the start wraps "
                     "past midnight)")
        if key == "utc_window" and utc_datetime(value["end"]) <= utc_datetime(value["start"]):
            yield at(document, (*path, "end"), "the window ends before it starts",
                     "give an end after the start")


def _expiries(document: Document, node: Any, path: Path_) -> Iterator[Diagnostic]:
    if isinstance(node, Mapping):
        if path[-1:] == ("expiry",):
            yield from _expiry(document, node, path)
            return
        for key, value in node.items():
            yield from _expiries(document, value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _expiries(document, item, (*path, index))


def _expiry(document: Document, rule: Mapping[str, Any], path: Path_) -> Iterator[Diagnostic]:
    if "dte" in rule:
        low, target, high = rule.get("min_dte", rule["dte"]), rule["dte"], rule.get(
            "max_dte", rule["dte"])
        if not low <= target <= high:
            yield at(document, path, f"dte {target} is outside min_dte..max_dte "
                     f"({low}..{high})", "make min_dte <= dte <= max_dte")
    if "min_days" in rule and rule["min_days"] > rule["max_days"]:
        yield at(document, (*path, "max_days"), "max_days is smaller than min_days",
                 "make max_days at least min_days")


class _ProfileResolver:
    """Follows `{profile: NAME}` references and checks what they resolve to."""

    def __init__(self, document: Document, profiles: Mapping[str, Mapping[str, Any]],
                 broken: Mapping[str, Path]) -> None:
        self.document = document
        self.profiles = profiles
        self.broken = broken

    def mode_of(self, raw: Mapping[str, Any], seen: tuple[str, ...] = ()) -> str | None:
        if "profile" not in raw:
            return str(raw["mode"])
        name = raw["profile"]
        if name in seen or name not in self.profiles:
            return None
        return self.mode_of(self.profiles[name], (*seen, name))

    def execution(self, raw: Any, path: Path_, expect: str | None) -> list[Diagnostic]:
        if not isinstance(raw, Mapping):
            return []
        if "profile" in raw:
            return self._reference(raw["profile"], path, expect)
        found = self._kind(raw, path, expect)
        mode = raw["mode"]
        if mode == "limit" and "phases" in raw:
            found += [at(self.document, (*path, key), f"'{key}' cannot be combined with "
                         "'phases'", "price either by phases or by fill_timeout, "
                         "requote_rounds and aggressive_buffer_pct") for key in _AGGRESSIVE_KEYS
                      if key in raw]
            found += self._phases(raw["phases"], (*path, "phases"))
        if mode == "rfq":
            found += self.execution(raw.get("fallback"), (*path, "fallback"), expect="limit")
        if mode == "auto":
            found += self.execution(raw["rfq"], (*path, "rfq"), expect="rfq")
            found += self.execution(raw["limit"], (*path, "limit"), expect="limit")
        return found

    def _kind(self, raw: Mapping[str, Any], path: Path_, expect: str | None) -> list[Diagnostic]:
        mode = self.mode_of(raw)
        if expect is None or mode is None or mode == expect:
            return []
        return [at(self.document, path, f"a {mode} execution is used where a {expect} "
                   "execution is expected", f"use mode {expect} (or a {expect} profile) here")]

    def _reference(self, name: str, path: Path_, expect: str | None) -> list[Diagnostic]:
        where = (*path, "profile")
        if name in self.broken:
            return [at(self.document, where, f"profile '{name}' is defined in "
                       f"{self.broken[name]}, which has errors", "fix that file first")]
        if name not in self.profiles:
            close = difflib.get_close_matches(name, list(self.profiles), n=1, cutoff=0.6)
            fix = (f"did you mean '{close[0]}'?" if close else
                   "define it under 'profiles:' in this file, or in a profiles file beside "
                   "it (e.g. strategies.d/profiles.yaml)")
            return [at(self.document, where, f"unknown profile '{name}'", fix)]
        if self.mode_of({"profile": name}) is None:
            return [at(self.document, where, f"profile '{name}' refers to itself",
                       "break the cycle between the profiles")]
        return self._kind({"profile": name}, path, expect)

    def _phases(self, phases: list[Mapping[str, Any]], path: Path_) -> list[Diagnostic]:
        found = []
        for index, phase in enumerate(phases):
            length, interval = duration(phase["duration"]), duration(phase["requote_interval"])
            if length is not None and interval is not None and interval > length:
                found.append(at(self.document, (*path, index, "requote_interval"),
                                "the requote interval is longer than the phase",
                                "make requote_interval at most the phase duration",
                                Severity.WARNING))
        return found
