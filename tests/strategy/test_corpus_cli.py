"""Broken files of every kind: each exits 1 through the real CLI, names file and line,
never shows a traceback, never hangs (a YAML bomb is stopped while it expands, not after),
and prints exactly the pinned text.

Speed is the benchmarks' business: the bound below only tells a hang from an answer, so a
loaded machine cannot fail it (it once failed at 1.25 s against a 1 s bound under load)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runner.cli.app import main

from .helpers_spec import REPO

CORPUS = sorted((REPO / "tests" / "corpus" / "invalid").glob("*.yaml"))


def test_the_corpus_covers_every_kind_of_broken_file() -> None:
    names = {path.stem for path in CORPUS}
    assert {"syntax_error", "tabs", "duplicate_key", "wrong_type", "out_of_range",
            "misspelt_key", "missing_key", "empty", "non_utf8", "code_execution",
            "alias_bomb", "oversized"} <= names


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_a_broken_file_exits_1_with_the_pinned_diagnostics(
        path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    relative = path.relative_to(REPO)
    started = time.perf_counter()
    code = main(["validate", str(relative)])
    elapsed = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code == 1
    assert elapsed < 30  # a hang guard, not a speed target: an unexpanded bomb never returns
    assert "Traceback" not in out + err
    first = out.splitlines()[0]
    assert first.startswith(f"{relative}:")
    assert int(first.split(":")[1]) >= 1  # a line number
    assert out == path.with_suffix(".expected").read_text(encoding="utf-8")


def test_code_in_a_yaml_tag_is_never_executed(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.yaml"
    bad.write_text(f'!!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8")
    assert main(["validate", str(bad)]) == 1
    assert not marker.exists()
    assert "is not allowed" in capsys.readouterr().out


def test_one_bad_file_never_hides_the_others(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    files = ["tests/corpus/invalid/tabs.yaml", "strategies.d/micro_strangle.yaml",
             "tests/corpus/invalid/misspelt_key.yaml"]
    assert main(["validate", *files]) == 1
    out = capsys.readouterr().out
    assert "tabs.yaml:3:1: error" in out
    assert "misspelt_key.yaml:7:3: error" in out
    assert out.splitlines()[-1] == "3 files checked: 1 valid, 2 invalid (2 errors, 0 warnings)"
