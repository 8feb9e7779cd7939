"""A short smoke version of the crash campaign with store damage between kills (issue 7).

The full campaign (`tests/bench/crash_campaign.py --damage 0.5`) runs hundreds of worlds
on demand; here a few seeds, every kill followed by a damage: the store truncated to 0
bytes, NUL-filled, cut in half while down, or deleted while running. The figures that
must stay at zero: duplicate opens and unmanaged positions (see
tests/crash/helpers_damage.py), and, while the store kept its memory, every invariant of
the ordinary audit.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.bench.crash_campaign import one_run


@pytest.mark.parametrize("seed", [8])  # a NUL-filled store and a deletion while running
def test_kills_with_store_damage_open_nothing_twice_and_leave_nothing_unmanaged(
        tmp_path: Path, seed: int) -> None:
    outcome = one_run(tmp_path, random.Random(seed), kills=2, fault_rate=0.0,
                      damage_rate=1.0)

    assert sum(outcome.damages.values()) == 2
    assert outcome.violations == []
    assert outcome.left == []
