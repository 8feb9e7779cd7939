"""One state directory per environment, and the one-time move of the older single store.

Issue 7 item 4: a paper run then a testnet run on the same `state/` shared one store, so
testnet asked for decisions about paper's positions and counted paper's trades. Stores
now live in `<root>/<environment>/`; a store left in the root by an older runner is moved
into the directory of the environment it traded, once, and never deleted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.store import open_store
from runner.store.layout import LegacyStateUnclear, migrate_legacy_state, prepare_state
from runner.store.meta import ENVIRONMENT_KEY


def legacy_store(root: Path, clock, *, recorded: str | None = None) -> Path:
    path = root / "runner.sqlite3"
    opening = open_store(path, clock)
    if recorded is not None:
        opening.store.set_meta(ENVIRONMENT_KEY, recorded)
    opening.store.close()
    (root / "trade_state.json").write_text('{"trades": []}', encoding="utf-8")
    return path


def heartbeat(root: Path, environment: str) -> None:
    (root / "heartbeat.json").write_text(json.dumps(
        {"at": "2026-03-02T10:00:00+00:00", "tick": 1, "environment": environment}),
        encoding="utf-8")


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_a_paper_store_is_moved_into_state_paper_with_its_venue_snapshot_and_heartbeat(
        tmp_path: Path, clock) -> None:
    legacy_store(tmp_path, clock)
    (tmp_path / "paper-venue.json").write_text("{}", encoding="utf-8")
    heartbeat(tmp_path, "paper")
    before = files(tmp_path)

    lines = migrate_legacy_state(tmp_path)

    assert len(lines) == 1
    assert "paper" in lines[0]
    assert files(tmp_path) == {f"paper/{name}" for name in before}  # moved, none lost
    assert open_store(tmp_path / "paper" / "runner.sqlite3", clock).needs_alert is False
    assert migrate_legacy_state(tmp_path) == []  # idempotent


def test_the_heartbeat_names_a_testnet_store_and_no_paper_venue_is_taken_along(
        tmp_path: Path, clock) -> None:
    legacy_store(tmp_path, clock)
    heartbeat(tmp_path, "testnet")

    migrate_legacy_state(tmp_path)

    assert (tmp_path / "testnet" / "runner.sqlite3").is_file()
    assert (tmp_path / "testnet" / "heartbeat.json").is_file()
    assert not (tmp_path / "runner.sqlite3").exists()


def test_the_environment_the_store_recorded_wins(tmp_path: Path, clock) -> None:
    legacy_store(tmp_path, clock, recorded="production")
    heartbeat(tmp_path, "paper")  # an older beat of another run: the store knows better

    migrate_legacy_state(tmp_path)

    assert (tmp_path / "production" / "runner.sqlite3").is_file()


def test_a_store_whose_environment_cannot_be_known_is_refused_and_left_in_place(
        tmp_path: Path, clock) -> None:
    path = legacy_store(tmp_path, clock)
    before = files(tmp_path)

    with pytest.raises(LegacyStateUnclear) as refused:
        migrate_legacy_state(tmp_path)

    message = str(refused.value)
    assert str(path) in message
    assert f"{tmp_path}/<environment>/runner.sqlite3" in message
    assert files(tmp_path) == before


def test_a_target_that_already_holds_a_store_is_refused_and_nothing_moves(
        tmp_path: Path, clock) -> None:
    legacy_store(tmp_path, clock)
    heartbeat(tmp_path, "paper")
    open_store(tmp_path / "paper" / "runner.sqlite3", clock).store.close()
    before = files(tmp_path)

    with pytest.raises(LegacyStateUnclear, match="exists already"):
        migrate_legacy_state(tmp_path)
    assert files(tmp_path) == before


def test_a_store_of_another_environment_in_this_environments_directory_is_refused(
        tmp_path: Path, clock) -> None:
    (tmp_path / "testnet").mkdir()
    opening = open_store(tmp_path / "testnet" / "runner.sqlite3", clock)
    opening.store.set_meta(ENVIRONMENT_KEY, "paper")
    opening.store.close()

    with pytest.raises(LegacyStateUnclear, match="holds the trades of paper, not testnet"):
        prepare_state(tmp_path, "testnet")
    assert prepare_state(tmp_path, "paper") == []
