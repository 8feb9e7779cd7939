"""Every lesson id of docs/lessons.md is cited by the tests that prove it.

docs/lessons.md is the repository's copy of the lessons-from-live ids (the original lives
with the shared design documents, which a clean clone does not have). For every row:
the id is cited by at least one file under tests/, every test file the row names exists,
and each of them cites the row's id. Ids run without gaps within each group (A1..A9,
B1..B15, ...), so a row cannot silently go missing from the middle of a group.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LESSONS = REPO / "docs" / "lessons.md"
ROW = re.compile(r"^\|\s*([A-Z])(\d+)\s*\|(.*)\|(.*)\|\s*$", re.M)
NAMED_FILE = re.compile(r"`(tests/[^`]+\.py)`")
# The exact number of ids per group in lessons-from-live.md.
GROUP_SIZES = {"A": 9, "B": 15, "C": 5, "D": 3, "E": 7, "F": 8, "G": 3, "H": 6, "I": 6}


@cache
def rows() -> dict[str, tuple[str, tuple[str, ...]]]:
    """id -> (requirement, test files named)."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for letter, number, requirement, proof in ROW.findall(LESSONS.read_text(encoding="utf-8")):
        lesson = f"{letter}{number}"
        assert lesson not in found, f"{lesson} appears twice in {LESSONS}"
        found[lesson] = (requirement.strip(), tuple(NAMED_FILE.findall(proof)))
    return found


@cache
def texts_under_tests() -> dict[Path, str]:
    here = Path(__file__).resolve()
    return {path: path.read_text(encoding="utf-8", errors="replace")
            for path in sorted((REPO / "tests").rglob("*.py")) if path.resolve() != here}


def cites(text: str, lesson: str) -> bool:
    """`E7`, `(E7)`, `test_e7_...`: the id as a token, not inside a longer word or number."""
    return re.search(rf"(?<![A-Za-z0-9]){lesson}(?![0-9])", text, re.IGNORECASE) is not None


def test_the_table_has_every_id_of_every_group_once() -> None:
    expected = {f"{letter}{n}" for letter, size in GROUP_SIZES.items()
                for n in range(1, size + 1)}
    assert set(rows()) == expected


def test_every_row_states_a_requirement_and_names_at_least_one_test_file() -> None:
    empty = [lesson for lesson, (requirement, files) in rows().items()
             if len(requirement) < 20 or not files]
    assert empty == []


@pytest.mark.parametrize("lesson", sorted(rows(), key=lambda i: (i[0], int(i[1:]))))
def test_the_lesson_is_cited_by_the_test_files_that_prove_it(lesson: str) -> None:
    _requirement, files = rows()[lesson]
    missing = [name for name in files if not (REPO / name).is_file()]
    assert missing == [], f"docs/lessons.md names files that do not exist for {lesson}"
    silent = [name for name in files if not cites((REPO / name).read_text(encoding="utf-8"),
                                                  lesson)]
    assert silent == [], f"these files are named for {lesson} but never cite it"
    citing = [path for path, text in texts_under_tests().items() if cites(text, lesson)]
    assert citing, f"no file under tests/ cites lesson {lesson}"


def test_a_citation_is_a_whole_token() -> None:
    assert cites("def test_e7_index_move(", "E7")
    assert cites('"""B2/B3: reused"""', "B3")
    assert not cites("B10: no churn", "B1")
    assert not cites("0xFF4D82B", "F4")
