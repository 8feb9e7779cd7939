"""A strategy's stored copy: the documents it was loaded from, rebuilt by the same loader."""

from __future__ import annotations

from pathlib import Path

from runner.strategy import load_strategies
from runner.strategy.copies import CopyRefused, rebuild
from runner.strategy.origin import SpecOrigin
from tests.shipped import SHIPPED

REPO = Path(__file__).resolve().parents[2]
STRATEGIES = REPO / "strategies.d"


def test_a_loaded_strategy_carries_its_file_and_the_profile_files_it_resolved() -> None:
    specs = {spec.name: spec for spec in load_strategies(list(SHIPPED)).specs}
    endurance = specs["rfq_endurance"].origin
    assert endurance is not None
    assert [Path(p).name for p, _ in endurance.documents] == ["rfq_endurance.yaml",
                                                             "profiles.yaml"]
    micro = specs["micro_strangle"].origin
    assert micro is not None
    assert [Path(p).name for p, _ in micro.documents] == ["micro_strangle.yaml"]


def test_a_copy_rebuilds_the_very_spec_it_was_taken_from_even_after_the_file_changed(
        tmp_path: Path) -> None:
    path = tmp_path / "micro.yaml"
    path.write_text((STRATEGIES / "micro_strangle.yaml").read_text(encoding="utf-8"),
                    encoding="utf-8")
    (spec,) = load_strategies([path]).specs
    assert spec.origin is not None
    stored = SpecOrigin.from_json(spec.origin.to_json())
    path.write_text("broken: [", encoding="utf-8")
    rebuilt = rebuild("micro_strangle", stored)
    assert rebuilt == spec
    assert not isinstance(rebuilt, CopyRefused)
    assert rebuilt.origin is not None
    assert rebuilt.origin.content_hash == spec.origin.content_hash


def test_a_copy_the_loader_refuses_says_why_in_the_validate_words() -> None:
    refused = rebuild("x", SpecOrigin((("x.yaml", "version: 1\nname: x\n"),)))
    assert isinstance(refused, CopyRefused)
    assert refused.reason.startswith("x.yaml:")
