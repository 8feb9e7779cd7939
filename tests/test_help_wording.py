"""Help texts in the trader's words (issue 9, "Why": `--help` showed `(A9)`, `(H6)` and
`see runner.sim.faults`; `simulate --help` hid its 48h default)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from runner.cli.app import build_parser

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


def _parsers(parser: argparse.ArgumentParser, name: str = "runner") -> Iterator[
        tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


PARSERS = dict(_parsers(build_parser()))
OPTIONS = [(command, action) for command, parser in PARSERS.items()
           for action in parser._actions
           if not isinstance(action, argparse._HelpAction | argparse._VersionAction
                             | argparse._SubParsersAction)]


@pytest.mark.parametrize(("command", "action"), OPTIONS,
                         ids=[f"{c} {a.dest}" for c, a in OPTIONS])
def test_every_argument_says_what_it_is(command: str, action: argparse.Action) -> None:
    assert action.help, f"runner {command}: {action.dest} has no help text"


DEFAULTED = [(command, action) for command, action in OPTIONS
             if action.option_strings and action.default not in (None, False, (), [])]


@pytest.mark.parametrize(("command", "action"), DEFAULTED,
                         ids=[f"{c} {a.dest}" for c, a in DEFAULTED])
def test_every_option_with_a_default_shows_it(command: str, action: argparse.Action) -> None:
    assert "default" in str(action.help), (
        f"runner {command} {action.option_strings[0]}: the default {action.default!r} is "
        "not shown")


@pytest.mark.parametrize("command", [c for c in PARSERS if c != "runner"])
def test_every_command_says_what_it_does(command: str) -> None:
    assert PARSERS[command].description, f"runner {command} --help has no description"


def test_run_help_says_it_paper_trades_by_default_until_ctrl_c() -> None:
    text = " ".join(HELPS["runner run"].split())
    assert "until you press Ctrl+C" in text
    assert "paper-trades" in text


def test_plan_help_says_it_uses_the_saved_paper_account_and_the_running_service() -> None:
    text = " ".join(HELPS["runner plan"].split())
    assert "paper account the service saved" in text
    assert "running service's start" in text
