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
    forwards, backwards = _path(), _path()
    every_second = _digest([forwards.price(hour + i) for i in range(3_600)])
    every_37th_backwards = _digest([backwards.price(hour + i) for i in range(3_599, -1, -37)])
    assert every_second == "9c8134866aa5035dda3aaf88ba0ca0d4767e1412cba81c8f9b4ef400aa191a45"
    assert every_37th_backwards == (
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


def test_the_extremes_of_a_run_of_seconds_are_those_of_its_prices() -> None:
    """`extremes` reads a run of whole seconds from the blocks at once (the no-bid proof
    asks about every second of a minute): the same two prices as asking each second, for
    runs inside a block, across blocks, from and to a block's end, after the path was
    drawn partly or not at all."""
    import random

    picks = random.Random(11)
    drawn = _path()
    reference = _path()
    for _ in range(60):
        first = START + picks.randrange(0, DAY)
        length = picks.choice((2, 3, 59, 60, 61, 120, 301))
        if picks.random() < 0.3:
            first -= (first - START) % 60  # from a block's end
        run = range(first, first + length)
        if picks.random() < 0.5:
            drawn.price(first + picks.randrange(length))  # a block drawn partly first
        prices = [reference.price(second) for second in run]
        computed = drawn.prices_computed
        assert drawn.extremes(run) == (min(prices), max(prices))
        assert drawn.prices_computed == computed  # read from the blocks, not second by second
        assert _path().extremes(run) == (min(prices), max(prices))


def test_a_controlled_path_reads_each_second_as_its_feed_shows_it() -> None:
    """A jump or a freeze makes the run's prices those of `price` at each second (the
    frozen feed's second for the box), not of the walk."""
    path = _path()
    path.jump_to(START + 100, 90_000.0)
    path.freeze(START + 200)
    run = range(START + 50, START + 400)
    prices = [path.price(second) for second in run]
    assert path.extremes(run) == (min(prices), max(prices))
    (low, high), (first, last), lives = path.observed_box(run)
    shown = [path.price(path.live_second(second)) for second in run]
    assert (low, high) == (min(shown), max(shown))
    assert (first, last) == (START + 50, START + 200)
    assert START + 300 not in lives
    assert START + 200 in lives

