"""The contract fixtures (the docs' own answer examples) and a JSON shape comparison.

`shape_differences(documented, actual)` walks both values together and names every place
where the actual answer does not have the documented shape: a documented key missing, a
key the docs do not show (unless listed as seen live), or another JSON type. Types are
JSON's: number (int and float alike), string, boolean, object, list, null. A documented
`null` says nothing about the type, so anything matches it. A documented list is read as
the union of its items: a key shown in every item is required, one shown in some is
allowed. An empty actual list proves nothing, so it is reported too; of a list, only
the first item that differs is reported.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def envelope(name: str) -> dict[str, Any]:
    """A whole documented answer, `{code, msg, i18nArgs, data}`."""
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def documented(name: str) -> Any:
    """The `data` of a documented answer."""
    return envelope(name)["data"]


def fixture_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shape_differences(expected: Any, actual: Any, where: str = "data",
                      live_extras: Collection[str] = ()) -> list[str]:
    """Every difference of shape between a documented value and an actual one."""
    if expected is None:
        return []
    kind = json_type(expected)
    if json_type(actual) != kind:
        return [f"{where} is {json_type(actual)} ({_show(actual)}), documented {kind} "
                f"({_show(expected)})"]
    if kind == "object":
        return _object_differences(expected, actual, where, live_extras)
    if kind == "list":
        return _list_differences(expected, actual, where, live_extras)
    return []


def _object_differences(expected: dict[str, Any], actual: dict[str, Any], where: str,
                        live_extras: Collection[str]) -> list[str]:
    found = [f"{where}.{key} is missing" for key in expected if key not in actual]
    found += [f"{where}.{key} is not documented" for key in actual
              if key not in expected and key not in live_extras]
    for key, value in expected.items():
        if key in actual:
            found += shape_differences(value, actual[key], f"{where}.{key}", live_extras)
    return found


def _list_differences(expected: list[Any], actual: list[Any], where: str,
                      live_extras: Collection[str]) -> list[str]:
    if not expected:
        return []
    if not actual:
        return [f"{where} is an empty list: nothing to compare"]
    model = merged_item(expected)
    required = _required_keys(expected)
    for index, item in enumerate(actual):
        found = _item_differences(model, required, item, f"{where}[{index}]", live_extras)
        if found:
            return found  # the first item that differs says enough
    return []


def _item_differences(model: Any, required: set[str], item: Any, where: str,
                      live_extras: Collection[str]) -> list[str]:
    if not (isinstance(model, dict) and isinstance(item, dict)):
        return shape_differences(model, item, where, live_extras)
    found = [f"{where}.{key} is missing" for key in sorted(required) if key not in item]
    found += [f"{where}.{key} is not documented" for key in item
              if key not in model and key not in live_extras]
    found += [difference for key, value in model.items() if key in item
              for difference in shape_differences(value, item[key], f"{where}.{key}",
                                                  live_extras)]
    return found


def merged_item(items: list[Any]) -> Any:
    """One model of a list's items: objects merged key by key (first non-null value)."""
    if not all(isinstance(item, dict) for item in items):
        return next((item for item in items if item is not None), None)
    model: dict[str, Any] = {}
    for item in items:
        for key, value in item.items():
            if model.get(key) is None:
                model[key] = value
    return model


def _required_keys(items: list[Any]) -> set[str]:
    if not all(isinstance(item, dict) for item in items):
        return set()
    keys = set(items[0])
    for item in items[1:]:
        keys &= set(item)
    return keys


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
