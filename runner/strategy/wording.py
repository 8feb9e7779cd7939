"""Translate jsonschema errors into diagnostics a trader can act on.

Each jsonschema validator keyword gets its own wording and a fix. For `oneOf` /
`anyOf` we never dump the alternatives: we pick the branch the author evidently meant
(the one whose identifying key is present, or whose type matches) and report that
branch's own errors; when no branch fits we name the keys that would select one, and
when several fit we say which keys conflict. Misspelt keys and values get a "did you
mean" from difflib against the allowed names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

from jsonschema.exceptions import ValidationError

from runner.strategy.diagnostics import Diagnostic, Severity, format_where
from runner.strategy.load import Document, Path_

_TYPE_WORDS: Final = {
    "object": ("a mapping", "write 'key: value' lines indented under it"),
    "array": ("a list", "write one '- item' line per item"),
    "string": ("text", "write text; quote it if it looks like a number, e.g. \"22:00\""),
    "number": ("a number", "write a plain number such as 0.5"),
    "integer": ("a whole number", "write a whole number such as 3"),
    "boolean": ("true or false", "write true or false"),
    "null": ("nothing", "leave the value empty"),
}

_PATTERN_HINTS: Final = {
    "duration": ("is not a duration",
                 "write a number and a unit: 10s, 5m, 2h, 1d (or combined, e.g. 1h30m)"),
    "timeOfDay": ("is not a UTC time of day", "write HH:MM in quotes, e.g. \"08:00\""),
    "utcDateTime": ("is not a UTC date-time", "write e.g. 2026-03-28T07:00Z"),
}


# A value of the wrong type where a text format is expected: its own words, not "text".
_TEXT_FORMATS: Final = {
    "duration": ("a duration", _PATTERN_HINTS["duration"][1]),
    "timeOfDay": ("a UTC time of day", _PATTERN_HINTS["timeOfDay"][1]),
    "utcDateTime": ("a UTC date-time", _PATTERN_HINTS["utcDateTime"][1]),
}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "an empty value"
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, Mapping):
        return "a mapping"
    return "a list"


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | Decimal):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value}'"
    return _shown(value)


def _did_you_mean(word: str, allowed: list[str]) -> str | None:
    close = difflib.get_close_matches(word, allowed, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _allowed_list(allowed: list[str]) -> str:
    return ", ".join(allowed)


class _Context:
    """One document being worded: positions plus schema lookups."""

    def __init__(self, document: Document, schema: Mapping[str, Any]) -> None:
        self.document = document
        self.schema = schema

    def resolve(self, subschema: Any) -> Mapping[str, Any]:
        while isinstance(subschema, Mapping) and "$ref" in subschema and len(subschema) <= 2:
            name = subschema["$ref"].rsplit("/", 1)[-1]
            subschema = self.schema["$defs"][name]
        return subschema if isinstance(subschema, Mapping) else {}

    def at_value(self, path: Path_, what: str, fix: str) -> Diagnostic:
        line, col = self.document.positions.of_value(path)
        return Diagnostic(self.document.path, line, col, Severity.ERROR, format_where(path),
                          what, fix)

    def at_key(self, path: Path_, what: str, fix: str) -> Diagnostic:
        line, col = self.document.positions.of_key(path)
        return Diagnostic(self.document.path, line, col, Severity.ERROR, format_where(path),
                          what, fix)

    def property_names(self, subschema: Mapping[str, Any]) -> list[str]:
        names = list(self.resolve(subschema).get("properties", {}))
        for keyword in ("oneOf", "anyOf", "allOf"):
            for branch in self.resolve(subschema).get(keyword, []):
                then = self.resolve(branch).get("then")
                target = then if then is not None else branch
                names += [n for n in self.property_names(target) if n not in names]
        return names


def translate(error: ValidationError, document: Document,
              schema: Mapping[str, Any]) -> list[Diagnostic]:
    """The diagnostics for one jsonschema error (usually one, sometimes several)."""
    return list(_translate(error, _Context(document, schema)))


def _path(error: ValidationError) -> Path_:
    return tuple(error.absolute_path)


def _translate(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    if "propertyNames" in error.schema_path:
        yield _property_name(error, context)
        return
    handler = _HANDLERS.get(str(error.validator), _generic)
    yield from handler(error, context)


def _property_name(error: ValidationError, context: _Context) -> Diagnostic:
    key = str(error.instance)
    path = (*_path(error), key)
    if error.validator == "pattern":
        return context.at_key(path, f"the name '{key}' is not allowed",
                              "use lower case letters, digits and _, starting with a letter")
    return context.at_key(path, f"'{key}' does not belong in a file without 'name'",
                          "add 'name:' and 'enabled:' to make this file a strategy, or move "
                          "the key into a strategy file")


def _additional(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    allowed = context.property_names(error.schema)
    for key in error.instance:
        if key in allowed:
            continue
        hint = _did_you_mean(key, allowed) or f"allowed keys here: {_allowed_list(allowed)}"
        yield context.at_key((*_path(error), key), f"unknown key '{key}'", hint)


def _required(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    properties = context.resolve(error.schema).get("properties", {})
    unknown = [key for key in error.instance if key not in _properties_at(error, context)]
    for key in error.validator_value:
        if key in error.instance or difflib.get_close_matches(key, unknown, n=1, cutoff=0.6):
            continue  # a misspelling of it is reported as an unknown key instead
        prop = properties.get(key, {})
        described = prop.get("description") or context.resolve(prop).get("description", "")
        first = re.split(r"\.\s+(?=[A-Z`])", described)[0].rstrip(".")
        hint = f"add '{key}:'" + (f" ({first})" if first else "")
        yield context.at_value(_path(error), f"missing required key '{key}'", hint)


def _properties_at(error: ValidationError, context: _Context) -> Mapping[str, Any]:
    """The keys allowed where `error` is; the root's for the root `if`/`then` requirement.

    The strategy requirement (`then: {required: [...]}`) has no properties of its own:
    without the root's, every key of the file would look unknown and a missing key
    would be taken for a misspelling of a valid one ('execution' vs 'description'),
    leaving the file without any diagnostic.
    """
    own = context.resolve(error.schema).get("properties")
    if own is None and not _path(error):
        own = context.schema.get("properties")
    return own or {}


def _type(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    expected = error.validator_value
    first = expected[0] if isinstance(expected, list) else expected
    word, fix = _TYPE_WORDS.get(first, (str(first), f"write {first}"))
    word, fix = _TEXT_FORMATS.get(_pattern_name(error, context), (word, fix))
    if word == "a duration" and isinstance(error.instance, int | Decimal):
        number = error.instance if isinstance(error.instance, int) and error.instance >= 0 else 10
        fix = f"a duration needs a unit: write {number}s (or {number}m, {number}h)"
    yield context.at_value(_path(error), f"expected {word}, got {_kind_of(error.instance)}", fix)


def _pattern_name(error: ValidationError, context: _Context) -> str | None:
    """The `$defs` name of the text format the failing value should have (e.g. duration)."""
    pattern = error.schema.get("pattern") if isinstance(error.schema, Mapping) else None
    if pattern is None:
        return None
    definitions = context.schema.get("$defs", {})
    return next((name for name in _PATTERN_HINTS
                 if definitions.get(name, {}).get("pattern") == pattern), None)


def _enum(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    allowed = [str(item) for item in error.validator_value]
    hint = None
    if isinstance(error.instance, str):
        hint = _did_you_mean(error.instance, allowed)
    fix = f"use one of: {_allowed_list(allowed)}"
    yield context.at_value(_path(error), f"{_shown(error.instance)} is not an allowed value",
                           f"{hint} ({fix})" if hint else fix)


def _const(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    wanted = _shown(error.validator_value).strip("'")
    yield context.at_value(_path(error), f"{_shown(error.instance)} is not allowed here",
                           f"write {wanted}")


_BOUNDS: Final[dict[str, tuple[str, str]]] = {
    "minimum": ("is below the minimum {v}", "use a value of at least {v}"),
    "maximum": ("is above the maximum {v}", "use a value of at most {v}"),
    "exclusiveMinimum": ("must be greater than {v}", "use a value above {v}"),
    "exclusiveMaximum": ("must be less than {v}", "use a value below {v}"),
}


def _bound(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    what, fix = _BOUNDS[str(error.validator)]
    value = error.validator_value
    yield context.at_value(_path(error), f"{_shown(error.instance)} " + what.format(v=value),
                           fix.format(v=value))


def _pattern(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    definitions = context.schema["$defs"]
    for name, (what, fix) in _PATTERN_HINTS.items():
        if error.validator_value == definitions[name]["pattern"]:
            yield context.at_value(_path(error), f"{_shown(error.instance)} {what}", fix)
            return
    examples = context.resolve(error.schema).get("examples")
    fix = (f"write it like {examples[0]}" if examples
           else "check the spelling against docs/strategy-reference.md")
    if _path(error)[-1:] == ("name",) or error.validator_value.startswith("^[a-z]"):
        fix = "use lower case letters, digits and _, starting with a letter"
    yield context.at_value(_path(error), f"{_shown(error.instance)} is not in the expected "
                           "format", fix)


def _count(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    keyword, limit = str(error.validator), error.validator_value
    path = _path(error)
    if keyword == "minItems":
        yield context.at_value(path, "the list is empty" if limit == 1
                               else f"the list needs at least {limit} items",
                               "add at least one item" if limit == 1 else "add items")
    elif keyword == "maxItems":
        yield context.at_value(path, f"the list has more than {limit} items",
                               f"keep at most {limit}")
    elif keyword == "minProperties":
        names = context.property_names(error.schema)
        yield context.at_value(path, "the mapping is empty",
                               f"add one of: {_allowed_list(names)}")
    else:
        keys = ", ".join(f"'{key}'" for key in error.instance)
        yield context.at_value(path, f"one item holds {len(error.instance)} rules ({keys})",
                               "give each rule its own list item ('- key: value')")


def _unique(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    yield context.at_value(_path(error), "a value is listed twice", "list each value once")


def _alternatives(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    branches = [context.resolve(branch) for branch in error.validator_value]
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        by_branch.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    instance = error.instance
    if isinstance(instance, Mapping):
        yield from _alternative_mappings(error, context, branches, by_branch)
        return
    fitting = [index for index, errors in by_branch.items()
               if not any(sub.validator in ("type", "const", "enum") and not sub.path
                          for sub in errors)]
    if len(fitting) == 1:
        for sub in by_branch[fitting[0]]:
            yield from _translate(sub, context)
        return
    wanted = " or ".join(_describe_branch(branch, context) for branch in branches)
    yield context.at_value(_path(error), f"expected {wanted}, got {_kind_of(instance)}",
                           f"write {wanted}")


def _describe_branch(branch: Mapping[str, Any], context: _Context) -> str:
    if "const" in branch:
        return _shown(branch["const"])
    if "enum" in branch:
        return " or ".join(_shown(item) for item in branch["enum"])
    kind = branch.get("type")
    if kind is None and "oneOf" in branch:
        return " or ".join(_describe_branch(context.resolve(b), context) for b in branch["oneOf"])
    return _TYPE_WORDS.get(str(kind), (str(kind), ""))[0]


def _identifying_keys(branch: Mapping[str, Any]) -> list[str]:
    return list(branch.get("required", []))


def _alternative_mappings(error: ValidationError, context: _Context,
                          branches: list[Mapping[str, Any]],
                          by_branch: dict[int, list[ValidationError]]) -> Iterator[Diagnostic]:
    instance = error.instance
    path = _path(error)
    candidates = [index for index, branch in enumerate(branches)
                  if all(key in instance for key in _identifying_keys(branch))]
    if len(candidates) == 1:
        errors = by_branch.get(candidates[0], [])
        for sub in errors:
            yield from _translate(sub, context)
        if errors:
            return
    if len(candidates) > 1:
        keys = sorted({key for index in candidates for key in _identifying_keys(branches[index])
                       if key in instance})
        if len(keys) > 1:
            shown = " and ".join(f"'{key}'" for key in keys)
            yield context.at_value(path, f"{shown} cannot be combined", "keep only one of them")
            return
    options = [" + ".join(_identifying_keys(branch)) for branch in branches]
    unknown = [key for key in instance if key not in context.property_names(error.schema)]
    names = context.property_names(error.schema)
    for key in unknown:
        hint = _did_you_mean(key, names)
        if hint:
            yield context.at_key((*path, key), f"unknown key '{key}'", hint)
            return
    yield context.at_value(path, f"needs one of: {_allowed_list(options)}",
                           "add exactly one of them (see docs/strategy-reference.md)")


def _generic(error: ValidationError, context: _Context) -> Iterator[Diagnostic]:
    yield context.at_value(_path(error), f"{_shown(error.instance)} is not valid here",
                           "see docs/strategy-reference.md for this key")


_HANDLERS: Final[dict[str, Callable[[ValidationError, _Context], Iterator[Diagnostic]]]] = {
    "additionalProperties": _additional,
    "required": _required,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "minimum": _bound,
    "maximum": _bound,
    "exclusiveMinimum": _bound,
    "exclusiveMaximum": _bound,
    "pattern": _pattern,
    "minItems": _count,
    "maxItems": _count,
    "minProperties": _count,
    "maxProperties": _count,
    "uniqueItems": _unique,
    "oneOf": _alternatives,
    "anyOf": _alternatives,
}
