"""The README quick start fits the trader (issue 9 item 6): PowerShell 5.1 commands without
`&&`, bash commands, and what `runner run` will do: which strategies it runs and until when."""

from __future__ import annotations

import re

from runner.strategy import load_strategies
from tests.shipped import REPO, SHIPPED

QUICK_START = re.search(r"## Quick start\n(.*?)\n## ",
                        (REPO / "README.md").read_text(encoding="utf-8"), re.S)


def _blocks() -> list[str]:
    assert QUICK_START is not None
    return re.findall(r"```\n(.*?)```", QUICK_START.group(1), re.S)


def test_the_powershell_set_up_has_no_double_ampersand_and_activates_the_venv() -> None:
    powershell = next(block for block in _blocks() if "Activate.ps1" in block)
    assert "&&" not in powershell
    assert "pip install -r requirements.txt" in powershell


def test_the_bash_set_up_is_there_too() -> None:
    assert any(". .venv/bin/activate" in block for block in _blocks())


def test_it_names_every_enabled_shipped_strategy_and_how_it_stops() -> None:
    assert QUICK_START is not None
    text = QUICK_START.group(1)
    enabled = [spec.name for spec in load_strategies(list(SHIPPED)).specs if spec.enabled]
    assert enabled
    for name in enabled:
        assert f"`{name}`" in text
    assert "Ctrl+C" in text
    assert "paper" in text


def test_the_one_test_command_is_unchanged() -> None:
    assert "python -m pytest -q\n" in _blocks()


def test_it_says_how_to_reset_the_paper_account() -> None:
    assert QUICK_START is not None
    text = QUICK_START.group(1)
    assert "runner paper reset --yes" in text
    assert "nothing is deleted" in text


def test_every_runner_command_it_shows_exists() -> None:
    """A command the README shows that the parser does not know would exit 2."""
    import argparse

    from runner.cli.app import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    shown = [line.split() for block in _blocks() for line in block.splitlines()
             if line.startswith("runner ")]
    assert shown
    for words in shown:
        assert words[1] in commands.choices, " ".join(words)
        sub = commands.choices[words[1]]
        actions = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        if actions and len(words) > 2 and not words[2].startswith("-"):
            assert words[2] in actions[0].choices, " ".join(words)
