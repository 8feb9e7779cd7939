"""The index path a seed gives is fixed for good: a saved simulation keeps only the path's
controls (venue_state.py) and replays the walk from its seed, and scenarios and tests are
written against the markets seeds give. Any speed-up of the walk must give these numbers
to the last bit."""

from __future__ import annotations

import hashlib

from runner.sim.index import IndexPath

START = 1_772_409_600  # 2026-03-02 00:00 UTC
DAY = 86_400


def _path() -> IndexPath:
    return IndexPath(seed=3, name="BTC", start_second=START, start_price=87_000.0,
                     annual_vol=0.5)


def _digest(values: list[float]) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()


def test_the_walk_of_a_seed_is_the_one_it_always_was() -> None:
    path = _path()
    seconds = [0, 1, 37, 59, 60, 61, 3_600 + 13, 3 * DAY + 45, 3 * DAY + 44, 40 * DAY + 29,
               40 * DAY + 59]
    assert [repr(path.price(START + s)) for s in seconds] == [
        "86999.99999999997", "86987.2202731794", "86986.26489261407", "86952.20615644561",
        "86946.56256872283", "86945.7981403154", "87135.07011025575", "89819.40548386498",
        "89811.80455804826", "85528.30545410102", "85484.24280396994"]


def test_every_second_of_an_hour_forwards_and_every_37th_backwards() -> None:
    hour = START + 2 * DAY
    assert _digest([_path().price(hour + i) for i in range(3_600)]) == (
        "9c8134866aa5035dda3aaf88ba0ca0d4767e1412cba81c8f9b4ef400aa191a45")
    assert _digest([_path().price(hour + i) for i in range(3_599, -1, -37)]) == (
        "f2076f21eea30a59f529b6710e87ea2a1cb0ece938285a37e7c1b491824e87fd")


def test_a_stretch_of_checks_looked_at_again_is_not_drawn_again() -> None:
    """The exit screen asks the index at up to 256 checks of each held strategy, then at
    fewer of the same checks when the stretch may fire (exit_stretch.py)."""
    path = _path()
    checks = [START + DAY + 37 + 60 * k for k in range(2 * 256)]
    first = [path.price(s) for s in checks]
    computed = path.prices_computed
    assert [path.price(s) for s in checks[:64]] == first[:64]
    assert path.prices_computed == computed
