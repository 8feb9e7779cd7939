"""Help texts in the trader's words (issue 9, "Why": `--help` showed `(A9)`, `(H6)` and
`see runner.sim.faults`; `simulate --help` hid its 48h default)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from runner.cli.main import build_parser

INTERNAL_CODE = re.compile(r"\([A-Z]\d{1,2}\)|\brunner\.[a-z_]+\.|lessons|issue \d")


def _all_helps(parser: argparse.ArgumentParser, name: str = "runner") -> Iterator[
        tuple[str, str]]:
    yield name, parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _all_helps(sub, f"{name} {sub_name}")


HELPS = dict(_all_helps(build_parser()))


@pytest.mark.parametrize("command", sorted(HELPS))
def test_help_shows_no_internal_code_or_module_path(command: str) -> None:
    assert INTERNAL_CODE.findall(HELPS[command]) == [], HELPS[command]


def test_simulate_help_shows_its_defaults() -> None:
    text = " ".join(HELPS["runner simulate"].split())
    assert "default 48h" in text
    assert "default 1s" in text
    assert "default 0" in text  # the seed


def test_run_help_says_what_adopt_and_flatten_do_with_exchange_positions() -> None:
    text = " ".join(HELPS["runner run"].split())
    assert "positions on the exchange" in text
