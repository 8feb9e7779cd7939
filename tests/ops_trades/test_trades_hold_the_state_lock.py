"""Issue 7 item 3: the store has one writer at a time. A `runner trades` decision that
writes holds the state directory's instance lock for its whole action, so a `runner run`
started meanwhile is refused (exit 2, naming the holder) instead of trading over a store
being rewritten; a read-only listing never takes it; a held lock refuses the decision."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from runner.cli.trades import _run
from runner.service.instance_lock import InstanceLock, LockHeld


def _args(**extra: Any) -> argparse.Namespace:
    return argparse.Namespace(env_file=Path("no.env"), state_dir=None, yes=False, **extra)


def _probe(state_dir: Path, seen: list[str]) -> Any:
    def action(_session: Any) -> int:
        try:
            with InstanceLock.for_state_dir(state_dir):
                seen.append("free")
        except LockHeld as held:
            seen.append(f"held by {held.pid}")
        return 0
    return action


def test_a_writing_decision_holds_the_lock_while_it_acts(state_dir: Path) -> None:
    seen: list[str] = []
    assert _run(_args(), "external", _probe(state_dir, seen), writes=True,
                create_store=True) == 0
    assert seen == [f"held by {os.getpid()}"]
    with InstanceLock.for_state_dir(state_dir):  # released afterwards
        pass


def test_a_listing_never_takes_the_lock(state_dir: Path) -> None:
    assert _run(_args(), "external", lambda _s: 0, writes=True, create_store=True) == 0
    seen: list[str] = []
    assert _run(_args(), "list", _probe(state_dir, seen), writes=False) == 0
    assert seen == ["free"]


def test_a_decision_is_refused_while_another_process_holds_the_lock(state_dir: Path,
                                                                    capsys: Any) -> None:
    with InstanceLock.for_state_dir(state_dir):
        code = _run(_args(), "external", lambda _s: 0, writes=True, create_store=True)
    assert code != 0
    assert "is running with the state directory" in capsys.readouterr().err
