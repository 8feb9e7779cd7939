"""Dispatch is the one place a command reaches the exchange (design.md): no other module calls
an exchange write, so every order and RFQ action is journalled before it is sent."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.architecture.graph import is_under, module_name, module_paths
from tests.architecture.rules import EXCHANGE_WRITES, WRITERS

OTHERS = [p for p in module_paths()
          if not any(is_under(module_name(p), writer) for writer in WRITERS)]


def exchange_writes(source: str) -> list[str]:
    """The exchange write methods `source` calls (`anything.cancel_rfq(...)`)."""
    return sorted(node.func.attr for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in EXCHANGE_WRITES)


@pytest.mark.parametrize("path", OTHERS, ids=module_name)
def test_only_dispatch_sends_commands_to_the_exchange(path: Path) -> None:
    writes = exchange_writes(path.read_text(encoding="utf-8"))
    assert writes == [], f"{module_name(path)} calls {writes}: send it through the dispatcher"


@pytest.mark.parametrize("write", EXCHANGE_WRITES)
def test_a_planted_direct_write_is_caught(write: str) -> None:
    source = f"def settle(exchange, record):\n    exchange.{write}(record.request_id)\n"
    assert exchange_writes(source) == [write]
