"""The index price of one underlying: a seeded geometric random walk on a 1-second grid.

Invariant: the price at a second depends only on (seed, underlying, start, that second) and
on the controls applied, never on how often or in which order the path is observed.

How: the grid is cut into blocks (default 60 s). Block-end log prices follow an exact GBM
step drawn from one sequential stream (cheap to catch up: 48 h = 2,880 draws). The seconds
inside a block are a Brownian bridge between its ends, drawn from a generator seeded by the
block number, so a block's inside is the same whenever it is first looked at. A bridge is
exact for discretely sampled Brownian motion, so the 1-second path is exact GBM.

Controls (tests, scenarios): a price jump from a second on (a log offset), and a frozen
feed (the price stays at the freeze second's value until unfrozen, then returns to the
live path: a stale feed recovering, lessons C1).
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from typing import Final

from runner.sim.pricing import SECONDS_PER_YEAR

_BRIDGE_CACHE: Final = 8


@dataclass(frozen=True, slots=True)
class PathControls:
    """Jumps (second, log offset), past freezes [from, until) and a freeze still on."""

    jumps: tuple[tuple[int, float], ...] = ()
    freezes: tuple[tuple[int, int], ...] = ()
    frozen_from: int | None = None


class IndexPath:
    """Log-price walk for one underlying, starting at `start_second` (epoch seconds)."""

    def __init__(self, *, seed: int, name: str, start_second: int, start_price: float,
                 annual_vol: float, block_seconds: int = 60) -> None:
        self._seed = seed
        self._name = name
        self._start = start_second
        self._block = block_seconds
        self._sigma = annual_vol / math.sqrt(SECONDS_PER_YEAR)
        self._coarse = random.Random(f"{seed}:{name}:blocks")
        # Block-end log prices from the start: 8 bytes each in an array (a year of 60 s
        # blocks is 4 MB per underlying; a list of floats would be four times that).
        self._ends = array("d", [math.log(start_price)])
        self._bridges: dict[int, list[float]] = {}
        self._offset_at: list[int] = []
        self._offsets: list[float] = []
        self._frozen_from: int | None = None
        self._freezes: list[tuple[int, int]] = []  # closed intervals [from, until)

    @property
    def start_second(self) -> int:
        return self._start

    def price(self, second: int) -> float:
        """The index at an epoch second, with every control applied."""
        return math.exp(self._raw_log(self._observed_second(second)) + self._offset(second))

    def live_second(self, second: int) -> int:
        """The second whose market a frozen feed still shows (itself when not frozen)."""
        return self._observed_second(second)

    def jump_to(self, second: int, price: float) -> None:
        """From `second` on, shift the path so that it reads `price` at `second`."""
        current = self._raw_log(self._observed_second(second))
        self._offset_at.append(second)
        self._offsets.append(math.log(price) - current)

    def freeze(self, second: int) -> None:
        if self._frozen_from is None:
            self._frozen_from = second

    def unfreeze(self, second: int) -> None:
        if self._frozen_from is not None:
            self._freezes.append((self._frozen_from, second))
            self._frozen_from = None

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

    # -- internals -----------------------------------------------------------------
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
        self._extend(block + 1)
        if inside == 0:
            return self._ends[block]
        return self._bridge(block)[inside]

    def _extend(self, blocks: int) -> None:
        ends = self._ends
        gauss = self._coarse.gauss
        step_std = self._sigma * math.sqrt(self._block)
        drift = -0.5 * step_std * step_std
        last = ends[-1]
        for _ in range(blocks + 1 - len(ends)):
            last += drift + step_std * gauss(0.0, 1.0)
            ends.append(last)

    def _bridge(self, block: int) -> list[float]:
        cached = self._bridges.get(block)
        if cached is not None:
            return cached
        rng = random.Random(f"{self._seed}:{self._name}:bridge:{block}")
        size = self._block
        end = self._ends[block + 1]
        points = [self._ends[block]]
        value = points[0]
        variance = self._sigma * self._sigma
        for j in range(1, size):
            left = size - j + 1  # steps from the previous point to the block end
            mean = value + (end - value) / left
            value = mean + math.sqrt(variance * (left - 1) / left) * rng.gauss(0.0, 1.0)
            points.append(value)
        if len(self._bridges) >= _BRIDGE_CACHE:
            self._bridges.pop(next(iter(self._bridges)))
        self._bridges[block] = points
        return points
