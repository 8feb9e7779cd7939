"""Read one strategy file into plain data plus the line and column of every node.

The invariant: whatever bytes a file holds, `read_document` returns either a document
(a mapping at the top level) or diagnostics with a line and column. It never raises,
never executes anything, and gives up quickly on hostile input.

Deliberate choices:
- PyYAML composes the node graph with a `SafeLoader` subclass; we convert nodes to
  values ourselves instead of using a constructor. That is where duplicate keys,
  non-string keys, explicit tags (`!!python/...`, `!!binary`, custom `!tags`) and merge
  keys are rejected, where positions are recorded, and where alias expansion is
  counted, so a "billion laughs" file stops after `MAX_NODES` values.
- Scalars follow the YAML 1.2 core schema, not YAML 1.1: only `true`/`false` are
  booleans (`no` stays the string "no"), `22:00` stays a string (1.1 would read it as
  the sexagesimal number 1320), dates and times stay strings (the schema checks their
  format). Non-integer numbers become `Decimal` exactly as written; `.inf`/`.nan` are
  refused.
- Files over `MAX_FILE_BYTES` are refused before parsing; a UTF-8 BOM is accepted
  (Windows editors add one), UTF-16 and other non-UTF-8 bytes are refused with the
  position of the first bad byte; tabs in indentation are reported on every line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import yaml

from runner.strategy.diagnostics import Diagnostic, Severity, format_where

MAX_FILE_BYTES: Final = 256 * 1024
MAX_NODES: Final = 20_000
MAX_DEPTH: Final = 50
FILE_WHERE: Final = "(file)"
SYNTAX_WHERE: Final = "(yaml syntax)"

_TAG: Final = "tag:yaml.org,2002:"
_ALLOWED_TAGS: Final = frozenset(
    _TAG + name for name in ("str", "int", "float", "bool", "null", "seq", "map")
)
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")

Path_ = tuple[str | int, ...]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader composing with YAML 1.2 core scalars (see the module docstring)."""


_StrictLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^[-+]?(?:0|[1-9][0-9_]*)$", "-+0123456789"),
    ("float", r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
              r"|[0-9][0-9_]*[eE][-+]?[0-9]+|\.(?:inf|Inf|INF|nan|NaN|NAN))$", "-+0123456789."),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _StrictLoader.add_implicit_resolver(_TAG + _tag, re.compile(_pattern), list(_first))


@dataclass(frozen=True, slots=True)
class Positions:
    """Line and column (1-based) of every value and every mapping key, by document path."""

    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def of_value(self, path: Path_) -> tuple[int, int]:
        """Where the value at `path` starts, or its nearest recorded ancestor."""
        for end in range(len(path), -1, -1):
            found = self.values.get(tuple(path[:end]))
            if found is not None:
                return found
        return (1, 1)

    def of_key(self, path: Path_) -> tuple[int, int]:
        """Where the key naming `path` is written (falls back to the value)."""
        return self.keys.get(tuple(path)) or self.of_value(path)

    def pointer_index(self) -> dict[str, tuple[int, int]]:
        """The value positions keyed by JSON pointer (`/legs/0/strike/delta`)."""
        return {"".join(f"/{part}" for part in path): where for path, where in self.values.items()}


@dataclass(frozen=True, slots=True)
class Document:
    path: Path
    data: dict[str, Any]
    positions: Positions
    text: str = ""  # the decoded file, kept for the stored copy of a strategy (origin.py)


class _Refused(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.what)
        self.diagnostic = diagnostic


def read_document(path: Path) -> tuple[Document | None, list[Diagnostic]]:
    """Read and parse `path`; a document, or None with the reasons."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        reason = error.strerror or str(error)
        return None, [_problem(path, 1, 1, FILE_WHERE, f"cannot read the file ({reason})",
                               "check the path and the file permissions")]
    return parse_bytes(path, raw)


def parse_bytes(path: Path, raw: bytes) -> tuple[Document | None, list[Diagnostic]]:
    """Parse file content already read; `path` is used for the diagnostics only."""
    try:
        text = _decode(path, raw)
        _refuse_tabs(path, text)
        node = _compose(path, text)
        data = _Converter(path).document(node)
    except _Refused as refused:
        return None, [refused.diagnostic]
    except _TabsFound as tabs:
        return None, tabs.diagnostics
    return Document(path, data[0], data[1], text), []


def _problem(path: Path, line: int, col: int, where: str, what: str, fix: str) -> Diagnostic:
    return Diagnostic(path, line, col, Severity.ERROR, where, what, fix)


def _decode(path: Path, raw: bytes) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise _Refused(_problem(
            path, 1, 1, FILE_WHERE, f"the file is larger than {MAX_FILE_BYTES // 1024} KiB",
            "a strategy file is a few hundred lines at most; check that this is the right file"))
    if raw.startswith(_UTF16_BOMS):
        raise _Refused(_problem(path, 1, 1, FILE_WHERE, "the file is UTF-16 encoded",
                                "save it as UTF-8"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, col = _line_col(raw[: error.start].decode("utf-8", "replace"), error.start)
        raise _Refused(_problem(
            path, line, col, FILE_WHERE,
            f"byte 0x{raw[error.start]:02x} is not valid UTF-8 text",
            "save the file as UTF-8 text; a strategy file is YAML, not a binary")) from None
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise _Refused(_problem(path, 1, 1, FILE_WHERE, "the file is empty",
                                "write a strategy (see docs/strategy-reference.md)"))
    return text


def _line_col(prefix: str, _offset: int) -> tuple[int, int]:
    line = prefix.count("\n") + 1
    col = len(prefix) - (prefix.rfind("\n") + 1) + 1
    return line, col


class _TabsFound(Exception):
    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("tabs")
        self.diagnostics = diagnostics


def _refuse_tabs(path: Path, text: str) -> None:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            found.append(_problem(path, number, indent.index("\t") + 1, SYNTAX_WHERE,
                                  "a tab is used for indentation",
                                  "YAML indents with spaces only; replace the tab with spaces"))
    if found:
        raise _TabsFound(found)


_SYNTAX_FIXES: Final = (
    ("mapping values are not allowed", "a ':' appears where a value was expected",
     "check the indentation, or quote a value that contains ': '"),
    ("could not find expected ':'", "a line is not a 'key: value' pair",
     "add the missing ':' or fix the indentation"),
    ("expected a single document", "the file holds more than one YAML document ('---')",
     "keep one document per file"),
    ("found undefined alias", "an alias (*name) refers to an anchor (&name) that does not exist",
     "define the anchor before using it"),
    ("found unhashable key", "a key is a list or a mapping",
     "keys are plain names such as 'qty'"),
)


def _compose(path: Path, text: str) -> yaml.Node:
    loader = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        raise _Refused(_syntax_problem(path, error)) from None
    except yaml.reader.ReaderError as error:
        line, col = _line_col(text[: error.position], error.position)
        raise _Refused(_problem(path, line, col, SYNTAX_WHERE,
                                f"character #x{error.character:04x} is not allowed in YAML",
                                "remove the control character")) from None
    except yaml.YAMLError as error:
        raise _Refused(_problem(path, 1, 1, SYNTAX_WHERE, f"not valid YAML ({error})",
                                "fix the YAML syntax")) from None
    except RecursionError:
        raise _Refused(_problem(path, 1, 1, SYNTAX_WHERE, "the document is nested too deeply",
                                f"a strategy nests at most {MAX_DEPTH} levels")) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise _Refused(_problem(path, 1, 1, FILE_WHERE, "the file is empty",
                                "write a strategy (see docs/strategy-reference.md)"))
    return node


def _syntax_problem(path: Path, error: yaml.MarkedYAMLError) -> Diagnostic:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = (error.problem or str(error)).strip()
    for needle, what, fix in _SYNTAX_FIXES:
        if needle in problem or needle in (error.context or ""):
            return _problem(path, line, col, SYNTAX_WHERE, what, fix)
    return _problem(path, line, col, SYNTAX_WHERE, f"not valid YAML ({problem})",
                    "fix the YAML syntax at this position")


class _Converter:
    """Turn a node graph into plain values, recording positions, within hard limits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions = Positions()
        self.nodes = 0
        self.scalars = _StrictLoader("")

    def document(self, node: yaml.Node) -> tuple[dict[str, Any], Positions]:
        if node.tag not in _ALLOWED_TAGS:
            self.convert(node, (), 0)  # refuses the tag with its position
        if not isinstance(node, yaml.MappingNode):
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            raise _Refused(_problem(
                self.path, line, col, "(top level)",
                "the top level must be a mapping of keys such as 'name:' and 'legs:'",
                "start the file with 'version: 1' and 'name: ...' lines"))
        value = self.convert(node, (), 0)
        return value, self.positions

    def _refuse(self, node: yaml.Node, path: Path_, what: str, fix: str) -> _Refused:
        mark = node.start_mark
        return _Refused(_problem(self.path, mark.line + 1, mark.column + 1, format_where(path),
                                 what, fix))

    def convert(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self._refuse(node, path, f"the document expands to more than {MAX_NODES} "
                               "values (aliases repeated over and over: a YAML bomb?)",
                               "write the values out; a strategy needs far fewer")
        if depth > MAX_DEPTH:
            raise self._refuse(node, path, "the document is nested too deeply",
                               f"a strategy nests at most {MAX_DEPTH} levels")
        if node.tag not in _ALLOWED_TAGS:
            raise self._refuse(node, path, f"the tag '{node.tag.replace(_TAG, '!!')}' is not "
                               "allowed", "remove the tag; strategy files hold plain values "
                               "only (no Python objects, no custom types)")
        self.positions.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, index), depth + 1)
                    for index, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            child = (*path, key)
            if key in result:
                first = self.positions.keys[child]
                raise self._refuse(key_node, child, f"duplicate key '{key}' (first written "
                                   f"at line {first[0]})", "keep one of them")
            self.positions.keys[child] = (key_node.start_mark.line + 1,
                                          key_node.start_mark.column + 1)
            result[key] = self.convert(value_node, child, depth + 1)
        return result

    def _key(self, node: yaml.Node, path: Path_) -> str:
        if node.tag == _TAG + "merge" or (isinstance(node, yaml.ScalarNode)
                                          and node.value == "<<" and node.style is None):
            raise self._refuse(node, path, "merge keys ('<<') are not supported",
                               "write the keys out, or share execution settings through a "
                               "named profile")
        if not isinstance(node, yaml.ScalarNode) or node.tag != _TAG + "str":
            shown = node.value if isinstance(node, yaml.ScalarNode) else "a list or mapping"
            raise self._refuse(node, path, f"the key {shown!r} is not a name",
                               "keys are plain names such as 'qty'; quote it if you mean text")
        return str(node.value)

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        tag = node.tag
        if tag == _TAG + "float":
            return self._number(node, path)
        if tag in (_TAG + "int", _TAG + "bool", _TAG + "null"):
            return self.scalars.construct_object(node)
        return str(node.value)

    def _number(self, node: yaml.ScalarNode, path: Path_) -> Decimal:
        as_float = self.scalars.construct_object(node)
        if not math.isfinite(as_float):
            raise self._refuse(node, path, f"{node.value} is not a finite number",
                               "write an ordinary number")
        text = node.value.replace("_", "")
        return Decimal(text) if not text.endswith(".") else Decimal(text + "0")
