"""The JSON Schema pass: where the schema lives, and checking a document against it.

The schema file `schemas/strategy.schema.json` is the single source of truth for the
shape of a strategy: the editor reads it (the `yaml-language-server` modeline), this
module validates with it, and `runner docs` renders the key reference from its
descriptions. jsonschema's messages are never shown as they are; `wording.py` turns
each error into a `Diagnostic` a trader can act on.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator

from runner.spec.diagnostics import Diagnostic
from runner.spec.load import Document
from runner.spec.wording import translate

SCHEMA_PATH: Final = (Path(__file__).resolve().parent.parent.parent
                      / "schemas" / "strategy.schema.json")


@cache
def strategy_schema() -> dict[str, Any]:
    """The schema document (read once per process)."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
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
