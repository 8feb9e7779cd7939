"""The YAML loader (positions, YAML 1.2 scalars, hostile bytes) and checks across files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from runner.strategy.load import MAX_FILE_BYTES, parse_bytes, read_document
from runner.strategy.validate import load_strategies, load_strategy_file

from .helpers_spec import MINIMAL, errors, load_text, messages, warnings, with_lines, write


def test_every_value_and_key_keeps_its_line_and_column(tmp_path: Path) -> None:
    document, problems = read_document(write(tmp_path, MINIMAL))
    assert problems == []
    assert document is not None
    assert document.positions.of_value(("structure", "call", "delta")) == (9, 17)
    assert document.positions.of_key(("structure", "qty")) == (7, 3)
    assert document.positions.pointer_index()["/exits/0/max_hold"] == (14, 15)


def test_scalars_follow_yaml_1_2_so_times_and_no_stay_text(tmp_path: Path) -> None:
    document, _ = parse_bytes(tmp_path / "x.yaml", b"a: 22:00\nb: no\nc: 2026-03-28\nd: 0.1\n")
    assert document is not None
    assert document.data == {"a": "22:00", "b": "no", "c": "2026-03-28", "d": Decimal("0.1")}


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_strategies([path]).diagnostics == ()


def test_a_utf16_file_is_refused_with_a_fix(tmp_path: Path) -> None:
    document, problems = parse_bytes(tmp_path / "w.yaml", MINIMAL.encode("utf-16"))
    assert document is None
    assert [p.render() for p in problems] == [
        f"{tmp_path / 'w.yaml'}:1:1: error: (file): the file is UTF-16 encoded; save it as UTF-8"]


def test_an_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 10))
    _, problems = read_document(path)
    assert "larger than 256 KiB" in problems[0].what


def test_non_finite_numbers_are_refused(tmp_path: Path) -> None:
    _, problems = parse_bytes(tmp_path / "n.yaml", b"version: 1\nqty: .nan\n")
    assert problems[0].where == "qty"
    assert problems[0].what == ".nan is not a finite number"


def test_a_non_string_key_is_refused(tmp_path: Path) -> None:
    _, problems = parse_bytes(tmp_path / "k.yaml", b"version: 1\n1: x\n")
    assert (problems[0].line, problems[0].what) == (2, "the key '1' is not a name")


def test_strategy_names_are_unique_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, MINIMAL, "a.yaml")
    second = write(tmp_path, MINIMAL, "b.yaml")
    result = load_strategies([first, second])
    assert result.failed_files == (second,)
    assert messages(result) == [f"name: the name 'sample' is already used by {first}; give "
                                "every strategy its own name"]
    assert [spec.source for spec in result.specs] == [first]


PROFILES = """\
version: 1
profiles:
  slow_limit: {mode: limit, fill_timeout: 2m}
  block: {mode: rfq, fallback: {profile: slow_limit}}
"""


def test_profiles_defined_in_their_own_file_are_shared(tmp_path: Path) -> None:
    profiles = write(tmp_path, PROFILES, "profiles.yaml")
    strategy = write(tmp_path, with_lines(MINIMAL, "open: {mode: limit}",
                                          "open: {profile: slow_limit}"), "s.yaml")
    result = load_strategies([profiles, strategy])
    assert result.diagnostics == ()
    assert result.specs[0].execution.open.profile == "slow_limit"
    alone = load_strategy_file(strategy)
    assert alone[0] is None
    assert "unknown profile 'slow_limit'" in alone[1][0].what


def test_a_misspelt_profile_gets_a_did_you_mean(tmp_path: Path) -> None:
    profiles = write(tmp_path, PROFILES, "profiles.yaml")
    strategy = write(tmp_path, with_lines(MINIMAL, "open: {mode: limit}",
                                          "open: {profile: slow_limt}"), "s.yaml")
    result = load_strategies([profiles, strategy])
    assert messages(result) == ["execution.open.profile: unknown profile 'slow_limt'; did you "
                                "mean 'slow_limit'?"]


def test_a_profile_defined_twice_is_an_error_in_the_second_file(tmp_path: Path) -> None:
    one = write(tmp_path, PROFILES, "one.yaml")
    two = write(tmp_path, PROFILES, "two.yaml")
    result = load_strategies([one, two])
    assert result.failed_files == (two,)
    assert "profile 'slow_limit' is already defined in" in result.diagnostics[0].what


def test_a_profile_that_refers_to_itself_is_refused_as_the_wrong_kind(tmp_path: Path) -> None:
    text = "version: 1\nprofiles:\n  loop: {mode: rfq, fallback: {profile: loop}}\n"
    result = load_text(tmp_path, text)
    assert messages(result) == ["profiles.loop.fallback: a rfq execution is used where a limit "
                                "execution is expected; use mode limit (or a limit profile) here"]


def test_a_profiles_file_may_not_hold_strategy_keys(tmp_path: Path) -> None:
    result = load_text(tmp_path, PROFILES + "legs: []\n")
    assert "legs: 'legs' does not belong in a file without 'name'; add 'name:' and 'enabled:' " \
        "to make this file a strategy, or move the key into a strategy file" in messages(result)


def test_a_strategy_using_a_profile_from_a_broken_file_says_so(tmp_path: Path) -> None:
    broken = write(tmp_path, PROFILES + "  bad: {mode: limt}\n", "profiles.yaml")
    strategy = write(tmp_path, with_lines(MINIMAL, "open: {mode: limit}",
                                          "open: {profile: slow_limit}"), "s.yaml")
    result = load_strategies([broken, strategy])
    assert result.failed_files == (broken, strategy)
    assert f"is defined in {broken}, which has errors" in errors(result)[-1].what


def test_disabled_strategies_are_loaded_and_say_so(tmp_path: Path) -> None:
    result = load_text(tmp_path, with_lines(MINIMAL, "enabled: true", "enabled: false"))
    assert [spec.enabled for spec in result.specs] == [False]
    assert warnings(result) == []
