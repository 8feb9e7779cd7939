"""The index price of one underlying: a seeded geometric random walk on a 1-second grid.

Invariant: the price at a second depends only on (seed, underlying, start, that second) and
on the controls applied, never on how often or in which order the path is observed.

How: the grid is cut into blocks (default 60 s). Block-end log prices follow an exact GBM
step drawn from one sequential stream (cheap to catch up: 48 h = 2,880 draws). The seconds
inside a block are a Brownian bridge between its ends, drawn from a generator seeded by the
block number, so a block's inside is the same whenever it is first looked at. A bridge is
exact for discretely sampled Brownian motion, so the 1-second path is exact GBM.

Cost (issue 12 item 2): a price is computed once per second asked (a small cache of the
seconds last asked, cleared when a control changes the path), and a block's bridge is drawn
only as far as the latest second asked inside it, continuing the same generator when a
later second is asked: a check a minute after the last one reads one point of a new
block, not the 60 of all of it. The draws, and so the values, are the same either way.

Controls (tests, scenarios): a price jump from a second on (a log offset), and a frozen
feed (the price stays at the freeze second's value until unfrozen, then returns to the
live path: a stale feed recovering, lessons C1).
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right
from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Final

from runner.sim.pricing import SECONDS_PER_YEAR

_BRIDGE_CACHE: Final = 8
_TWO_PI: Final = 2.0 * math.pi
# Seconds remembered: enough for a stretch of checks looked at again when it shrinks
# (exit_stretch.py), which otherwise drew the same bridges again (a quarter of them).
_PRICE_CACHE: Final = 1024
# Block ends kept behind the newest one (a week of 60 s blocks): a year's path in memory
# would grow by 4 MB per underlying; an older second is still exact, replayed (see _end).
KEPT_BLOCKS: Final = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class PathControls:
    """Jumps (second, log offset), past freezes [from, until) and a freeze still on."""

    jumps: tuple[tuple[int, float], ...] = ()
    freezes: tuple[tuple[int, int], ...] = ()
    frozen_from: int | None = None


class IndexPath:
    """Log-price walk for one underlying, starting at `start_second` (epoch seconds)."""

    def __init__(self, *, seed: int, name: str, start_second: int, start_price: float,
                 annual_vol: float, block_seconds: int = 60,
                 kept_blocks: int = KEPT_BLOCKS) -> None:
        self._seed = seed
        self._name = name
        self._start = start_second
        self._block = block_seconds
        self._sigma = annual_vol / math.sqrt(SECONDS_PER_YEAR)
        self._start_log = math.log(start_price)
        self._coarse = self._blocks_stream()
        # Block-start log prices (8 bytes each in an array), from block `_first` on: the
        # oldest are dropped once more than twice `kept_blocks` are held (memory stays flat).
        self._ends = array("d", [self._start_log])
        self._first = 0
        self._kept = kept_blocks
        # A bridge's standard deviation at each second j of a block: the step from j - 1,
        # conditioned on the block end (`left` steps away).
        variance = self._sigma * self._sigma
        self._scales = (0.0, *(math.sqrt(variance * (left - 1) / left)
                               for left in range(block_seconds, 1, -1)))
        self._bridges: dict[int, _Bridge] = {}
        self._prices: dict[int, float] = {}  # second -> price, the seconds last asked
        self.prices_computed = 0  # cache misses (tests, benchmarks)
        self._offset_at: list[int] = []
        self._offsets: list[float] = []
        self._frozen_from: int | None = None
        self._freezes: list[tuple[int, int]] = []  # closed intervals [from, until)

    @property
    def start_second(self) -> int:
        return self._start

    @property
    def blocks_held(self) -> int:
        """How many block ends the path holds in memory (bounded, whatever its length)."""
        return len(self._ends)

    def price(self, second: int) -> float:
        """The index at an epoch second, with every control applied."""
        found = self._prices.get(second)
        if found is None:
            self.prices_computed += 1
            found = math.exp(self._raw_log(self._observed_second(second)) + self._offset(second))
            if len(self._prices) >= _PRICE_CACHE:
                self._prices.pop(next(iter(self._prices)))
            self._prices[second] = found
        return found

    def extremes(self, seconds: Sequence[int]) -> tuple[float, float]:
        """The lowest and highest `price` at these seconds.

        A run of whole seconds (a `range`, step 1) on a path no control has touched is
        read from its blocks' drawn points at once: the no-bid proof asks about every
        second of a minute, thousands of minutes a year, and a call and a cache entry per
        second cost more than the draws (exp is monotone: the same two prices)."""
        if (isinstance(seconds, range) and seconds.step == 1 and len(seconds) > 1
                and seconds[0] >= self._start and not self._controlled()):
            return self._run_extremes(seconds[0], seconds[-1])
        prices = [self.price(second) for second in seconds]
        return min(prices), max(prices)

    def observed_box(self, seconds: Sequence[int]) -> tuple[tuple[float, float],
                                                          tuple[int, int], Container[int]]:
        """The lowest and highest price a feed shows at these seconds (each read at its
        `live_second`), the first and last live second, and all of them."""
        if isinstance(seconds, range) and not self._controlled():
            return self.extremes(seconds), (seconds[0], seconds[-1]), seconds
        lives = [self.live_second(second) for second in seconds]
        prices = [self.price(live) for live in lives]
        return (min(prices), max(prices)), (min(lives), max(lives)), frozenset(lives)

    def live_second(self, second: int) -> int:
        """The second whose market a frozen feed still shows (itself when not frozen)."""
        return self._observed_second(second)

    def jump_to(self, second: int, price: float) -> None:
        """From `second` on, shift the path so that it reads `price` at `second`."""
        current = self._raw_log(self._observed_second(second))
        self._offset_at.append(second)
        self._offsets.append(math.log(price) - current)
        self._prices.clear()

    def freeze(self, second: int) -> None:
        if self._frozen_from is None:
            self._frozen_from = second
        self._prices.clear()

    def unfreeze(self, second: int) -> None:
        if self._frozen_from is not None:
            self._freezes.append((self._frozen_from, second))
            self._frozen_from = None
        self._prices.clear()

    # -- persistence (additive: the controls are the only state not given by the seed) --
    def controls(self) -> PathControls:
        """The jumps and freezes applied so far (the walk itself follows from the seed)."""
        return PathControls(tuple(zip(self._offset_at, self._offsets, strict=True)),
                            tuple(self._freezes), self._frozen_from)

    def restore_controls(self, controls: PathControls) -> None:
        """Apply saved controls to a fresh path of the same seed and start."""
        self._offset_at = [second for second, _ in controls.jumps]
        self._offsets = [offset for _, offset in controls.jumps]
        self._freezes = list(controls.freezes)
        self._frozen_from = controls.frozen_from
        self._prices.clear()

    # -- internals -----------------------------------------------------------------
    def _controlled(self) -> bool:
        return bool(self._offset_at or self._freezes) or self._frozen_from is not None

    def _run_extremes(self, first: int, last: int) -> tuple[float, float]:
        """`extremes` of [first, last] on an uncontrolled path, block by block."""
        low, high = math.inf, -math.inf
        size = self._block
        block, inside = divmod(first - self._start, size)
        last_block, last_inside = divmod(last - self._start, size)
        while block <= last_block:
            upto = last_inside if block == last_block else size - 1
            if upto == 0:
                values: Sequence[float] = (self._end(block),)
            else:
                values = self._bridge(block).span(inside, upto)
            low, high = min(low, min(values)), max(high, max(values))
            block, inside = block + 1, 0
        return math.exp(low), math.exp(high)

    def _observed_second(self, second: int) -> int:
        if self._frozen_from is not None and second >= self._frozen_from:
            return self._frozen_from
        for start, until in self._freezes:
            if start <= second < until:
                return start
        return second

    def _offset(self, second: int) -> float:
        position = bisect_right(self._offset_at, second)
        return sum(self._offsets[:position])

    def _raw_log(self, second: int) -> float:
        elapsed = max(0, second - self._start)
        block, inside = divmod(elapsed, self._block)
        if inside == 0:
            return self._end(block)
        return self._bridge(block).point(inside)

    def _blocks_stream(self) -> random.Random:
        return random.Random(f"{self._seed}:{self._name}:blocks")

    def _step(self) -> tuple[float, float]:
        """(drift, standard deviation) of one block's log step."""
        step_std = self._sigma * math.sqrt(self._block)
        return -0.5 * step_std * step_std, step_std

    def _end(self, block: int) -> float:
        """The log price at the start of `block` (the end of the one before)."""
        held = block - self._first
        if 0 <= held < len(self._ends) - 1:  # drawn already, and the next one (no drop)
            return self._ends[held]
        if held < 0:
            return self._replayed(block)
        self._extend(block + 1)
        return self._ends[block - self._first]

    def _extend(self, last_block: int) -> None:
        """Draw block ends up to `last_block`, then drop the oldest beyond the kept ones."""
        ends = self._ends
        missing = last_block + 1 - self._first - len(ends)
        if missing <= 0:
            return
        gauss = self._coarse.gauss
        drift, step_std = self._step()
        last = ends[-1]
        for _ in range(missing):
            last += drift + step_std * gauss(0.0, 1.0)
            ends.append(last)
        if len(ends) > 2 * self._kept:
            dropped = len(ends) - self._kept
            del ends[:dropped]
            self._first += dropped

    def _replayed(self, block: int) -> float:
        """A dropped block end, drawn again from the start of the same stream (exact; slow,
        and never needed by a venue, which only asks about its present)."""
        gauss = self._blocks_stream().gauss
        drift, step_std = self._step()
        last = self._start_log
        for _ in range(block):
            last += drift + step_std * gauss(0.0, 1.0)
        return last

    def _bridge(self, block: int) -> _Bridge:
        found = self._bridges.get(block)
        if found is None:
            if len(self._bridges) >= _BRIDGE_CACHE:
                self._bridges.pop(next(iter(self._bridges)))
            end = self._end(block + 1)  # first: it may drop the oldest block ends
            found = self._bridges[block] = _Bridge(
                random.Random(f"{self._seed}:{self._name}:bridge:{block}"),
                self._end(block), end, self._block, self._scales)
        return found


class _Bridge:
    """The seconds inside one block: a Brownian bridge between its end log prices, drawn
    from its own generator one second after the other, only as far as asked.

    The normal draws are `random.Random.gauss`'s own (Box-Muller in pairs, the second of
    a pair kept for the next draw), written out here because a bridge is the index's hot
    path: the same numbers at half the cost of a call per draw."""

    __slots__ = ("_end", "_points", "_random", "_scales", "_size", "_spare")

    def __init__(self, rng: random.Random, start: float, end: float, size: int,
                 scales: tuple[float, ...]) -> None:
        self._random = rng.random
        self._spare: float | None = None
        self._end = end
        self._size = size
        self._scales = scales
        self._points = [start]

    def span(self, first: int, last: int) -> list[float]:
        """The log prices from `first` to `last` seconds into the block (the block's start
        at 0), drawn as far as `last`."""
        if last >= len(self._points):
            self.point(last)
        return self._points[first:last + 1]

    def point(self, inside: int) -> float:
        """The log price `inside` seconds into the block (0 < inside < size)."""
        points = self._points
        if inside < len(points):
            return points[inside]
        uniform, end, scales = self._random, self._end, self._scales
        log, sqrt, cos, sin, append = math.log, math.sqrt, math.cos, math.sin, points.append
        spare = self._spare
        value = points[-1]
        left = self._size - len(points) + 1  # steps from the previous point to the block end
        for j in range(len(points), inside + 1):
            if spare is None:
                angle = uniform() * _TWO_PI
                radius = sqrt(-2.0 * log(1.0 - uniform()))
                normal = cos(angle) * radius
                spare = sin(angle) * radius
            else:
                normal = spare
                spare = None
            value = value + (end - value) / left + scales[j] * normal
            append(value)
            left -= 1
        self._spare = spare
        return value
