"""The JSON Schema pass: where the schema lives, and checking a document against it.

The schema file is the single source of truth for the shape of a strategy: this module
validates with it, `runner docs` renders the key reference from its descriptions, and
the editor reads it (the `yaml-language-server` modeline).

It ships as package data, `runner/strategy/strategy.schema.json`, found through the package
(`importlib.resources`), so an installed wheel validates without the checkout. The
strategies' modelines point at `schemas/strategy.schema.json` at the top level: an
identical copy, kept so by `tests/test_packaging.py` (edit the package copy, then copy
it over). A copy rather than a link: links do not survive a Windows checkout.

jsonschema's messages are never shown as they are; `wording.py` turns
each error into a `Diagnostic` a trader can act on.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, Final

from jsonschema import Draft202012Validator

from runner.strategy.diagnostics import Diagnostic
from runner.strategy.load import Document
from runner.strategy.wording import translate

SCHEMA_FILE: Final = "strategy.schema.json"


def schema_resource() -> Traversable:
    """The packaged schema (a real file in a checkout and in an installed wheel)."""
    return files("runner.strategy").joinpath(SCHEMA_FILE)


@cache
def strategy_schema() -> dict[str, Any]:
    """The schema document (read once per process)."""
    with schema_resource().open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


@cache
def _validator() -> Draft202012Validator:
    schema = strategy_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_document(document: Document) -> list[Diagnostic]:
    """Every schema violation of `document`, worded for people, in file order."""
    found: dict[tuple[int, int, str, str], Diagnostic] = {}
    for error in _validator().iter_errors(document.data):
        for diagnostic in translate(error, document, strategy_schema()):
            found.setdefault((diagnostic.line, diagnostic.col, diagnostic.where,
                              diagnostic.what), diagnostic)
    return sorted(found.values(), key=lambda item: (item.line, item.col, item.what))
